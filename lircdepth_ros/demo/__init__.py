"""The end-to-end demo (`lircdepth demo`): it spans the core and ROS, so it lives here."""
