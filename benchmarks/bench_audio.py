"""Kaldi filterbank throughput, and its share of an end-to-end audio step, in one run.

    python benchmarks/bench_audio.py                         # 2-core CPU defaults: under a minute
    python benchmarks/bench_audio.py --preset base --clips 4
    python benchmarks/bench_audio.py --device cuda --preset base --clips 32 --batch 16

Clips (`--seconds` long, stereo 16-bit WAV at `--source-rate`) are generated here and read through
the registry (`metaframe.get_modality("audio")`). Stages, each timed over all clips (best of a few):

- read: decode (soundfile) + mix-down + resampling to 16 kHz (soxr HQ): the reader;
- fbank (one clip per call): `kaldi_fbank` on each clip, as torchaudio is used in AST's data loader;
- fbank (batched): `kaldi_fbank_batch` on padded batches of `--batch` clips;
- tokenize: the whole tokenizer (mean removal, fbank, pad/crop to 1024 frames, normalise, Conv2d
  patches, positions, mask), of which the filterbank is the share measured above;
- encoder: the frozen encoder on the tokens (+1 [CLS]), no grad.

"Share" = filterbank time / (read + tokenize + encoder) for one pass over the clips.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

import metaframe
from machine import print_machine
from timing import best_time
from metaframe_audio import kaldi_fbank, kaldi_fbank_batch

AST = dict(htk_compat=True, use_energy=False, window_type="hanning", num_mel_bins=128, dither=0.0, frame_shift=10.0)


def make_clips(directory: Path, count: int, seconds: float, rate: int) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    t = np.arange(int(seconds * rate)) / rate
    for i in range(count):
        tone = 0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t * (1 + 0.2 * t / seconds))
        stereo = np.stack([tone, tone * 0.5 + 0.05 * rng.standard_normal(t.size)], axis=1)
        path = directory / f"clip_{i}.wav"
        sf.write(path, stereo.astype(np.float32), rate, subtype="PCM_16")
        paths.append(path)
    return paths


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=int, default=8)
    p.add_argument("--seconds", type=float, default=10.0, help="clip length (AudioSet: 10 s)")
    p.add_argument("--source-rate", type=int, default=44100)
    p.add_argument("--preset", default="tiny", help="encoder preset (tiny, small, base, large)")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print_machine()
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    audio = metaframe.get_modality("audio")
    encoder = metaframe.FrozenEncoder.from_preset(args.preset, seed=0).to(device)
    tokenizer = audio.build_tokenizer(embed_dim=encoder.embed_dim).to(device).eval()
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp, torch.inference_mode():
        paths = make_clips(Path(tmp), args.clips, args.seconds, args.source_rate)
        n = len(paths)
        clips = [audio.read(q) for q in paths]
        t_read = best_time(lambda: [audio.read(q) for q in paths], args.repeat)
        batches = [audio.collate(clips[i : i + args.batch]).to(device) for i in range(0, n, args.batch)]

        def fbank_single() -> None:
            for c in clips:
                w = c.waveform.to(device)[None]
                kaldi_fbank(w - w.mean(), **AST)
            sync()

        def fbank_batched() -> None:
            for b in batches:
                kaldi_fbank_batch(b.waveform, b.lengths, **AST)
            sync()

        tokens: list[torch.Tensor] = []

        def tokenize() -> None:
            tokens[:] = [tokenizer(b).tokens for b in batches]
            sync()

        def encode() -> None:
            for t in tokens:
                encoder(torch.cat([t[:, :1], t], dim=1))
            sync()

        fbank_single(), fbank_batched(), tokenize(), encode()  # warm-up
        t_single = best_time(fbank_single, args.repeat)
        t_batched = best_time(fbank_batched, args.repeat)
        t_tok = best_time(tokenize, args.repeat)
        t_enc = best_time(encode, max(1, args.repeat - 1))
    seconds = n * args.seconds
    total = t_read + t_tok + t_enc
    rows = [
        (f"read ({args.source_rate} Hz stereo WAV → 16 kHz mono)", t_read),
        ("fbank, one clip per call (kaldi_fbank)", t_single),
        (f"fbank, batched by {args.batch} (kaldi_fbank_batch)", t_batched),
        ("tokenize (fbank + pad/normalise + Conv2d patches)", t_tok),
        (f"encoder {args.preset} ({tokens[0].shape[1] + 1} tokens)", t_enc),
    ]
    print(f"device {device}")
    print(f"{n} clips x {args.seconds:g} s ({seconds:g} s of audio), batch {args.batch}, 128 mel bins, 1024 frames")
    print("| stage | time for all clips (s) | seconds of audio per second |\n| --- | ---: | ---: |")
    for name, t in rows:
        print(f"| {name} | {t:.3f} | {seconds / t:,.0f} |")
    print(f"| end-to-end step (read + tokenize + encoder) | {total:.3f} | {seconds / total:,.0f} |")
    print(
        f"\nfilterbank share of the end-to-end step: {t_batched / total:.1%} "
        f"(read {t_read / total:.1%}, rest of tokenizer {max(t_tok - t_batched, 0.0) / total:.1%}, "
        f"encoder {t_enc / total:.1%})"
    )


if __name__ == "__main__":
    main()
