"""`lircdepth predict`: depth for your own data (image + radar files, a nuScenes dataroot,
a ROS 2 bag), written per frame as 16-bit PNG, .npy and optional colour/uncertainty.

Modules: frames (the job list), files_source / nuscenes_source / bag_source (the three
inputs), calibration and radar_files (the file readers), outputs (files, completeness,
the output folder), runner (batches, progress, resume, summary), cli.
"""
