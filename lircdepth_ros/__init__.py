"""ROS 2 glue for LiRCDepth: message conversions, synchronisation, TF, the node, bags.

Everything numerical is delegated to the `lircdepth` core library.
"""
