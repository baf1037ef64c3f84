"""Train the pose-to-video model of the target person.

    python train_pose2vid.py --preset cpu               # small, minutes on a CPU
    python train_pose2vid.py --preset paper --name target
    python train_pose2vid.py --name target --resume     # continue exactly where it stopped
    torchrun --nproc_per_node 2 train_pose2vid.py ...   # several GPUs (or CPU processes)

Every option, its default and its comment live in src/gan/options.py; --help lists them.
"""
from src.errors import run_main
from src.gan.options import parse


def main():
    opt, given = parse()
    from src.gan.train import train  # after parsing, so --help does not wait for torch
    train(opt, given)
    from src.device import end_worker
    end_worker()


if __name__ == "__main__":
    run_main(main)
