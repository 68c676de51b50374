"""Training and evaluation of the teacher (CaFNet) and the distilled student (LiRCDepth).

`lircdepth train teacher|student ARGS.txt [--flag value ...]` and `lircdepth evaluate`
are the entry points; `torchrun --nproc_per_node N -m lircdepth train ...` runs DDP.
"""
