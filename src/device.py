"""Picking the torch device, whether it runs bf16 autocast, and the DistributedDataParallel set-up
under torchrun.

`torchrun --nproc_per_node N train_pose2vid.py ...` starts N processes with RANK, LOCAL_RANK and
WORLD_SIZE in their environment; each one trains on its share of the data, gradients are averaged
(nccl on CUDA, gloo on the CPU) and only rank 0 writes files and shows progress.
"""
import contextlib
import dataclasses
import os
import sys

import torch
import torch.distributed as tdist

from src.cpu_memory import keep_freed_memory
from src.errors import UserError


def pick_device(name="auto"):
    """'auto' | 'cpu' | 'cuda' | 'cuda:N' -> torch.device; UserError if CUDA is asked for but absent.

    For the CPU it also keeps freed memory in the process (src/cpu_memory.py): the networks' steps
    reuse their pages instead of faulting in fresh ones.
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {name}: this torch has no CUDA device; use --device cpu")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise UserError(f"--device {name!r}: expected auto, cpu or cuda")
    if name == "cpu":
        keep_freed_memory()
    return torch.device(name)


def bf16_is_fast(device):
    """True where bfloat16 autocast runs faster than float32: CUDA, and CPUs with bf16 instructions
    (AVX512-BF16 or AMX). Elsewhere the CPU would emulate bf16, slower than float32."""
    if device.type == "cuda":
        return True
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def autocast(device, bf16):
    """bfloat16 autocast on `device` when bf16 is true; otherwise nothing (float32)."""
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


@dataclasses.dataclass
class Dist:
    """Where this process runs: its rank among `world` processes and its device."""
    rank: int
    world: int
    device: torch.device

    @property
    def is_main(self):
        """Rank 0: the one process that writes files and shows the progress bar."""
        return self.rank == 0

    @property
    def enabled(self):
        return self.world > 1


def setup(device_name="auto"):
    """Start DDP when launched by torchrun (RANK in the environment); otherwise a single process."""
    if "RANK" not in os.environ:
        return Dist(0, 1, pick_device(device_name))
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    device = pick_device(device_name)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        # Share the cores among the processes instead of each one using all of them.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", world))))
    if not tdist.is_initialized():
        tdist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world)
    return Dist(rank, world, device)


def teardown(dist):
    if dist.enabled and tdist.is_initialized():
        tdist.destroy_process_group()


def end_worker():
    """End a torchrun worker after a finished run without the interpreter's cleanup: freeing
    gloo's state while Python shuts down, after its group is gone, now and then aborts the process
    ("terminate called without an active exception", SIGABRT) though every file is written."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def average(values, dist):
    """Mean of a 1-D float tensor over all processes (unchanged in a single process)."""
    if dist.enabled:
        tdist.all_reduce(values, op=tdist.ReduceOp.SUM)
        values /= dist.world
    return values


def barrier(dist):
    if dist.enabled:
        tdist.barrier()
