#!/usr/bin/env python3
"""One training step of ember-spam's transformer, in PyTorch: the baseline of issue 6.

The same model as apps/spam/model.cpp TransformerNet with the app's default transformer
config (apps/spam/trainer.cpp default_train_options), the same fixed batch and the same
optimizers as BM_SpamTransformerStep in bench/bench_spam.cpp (see the NOTE there):

  embedding  EmbeddingBag(2^18, 32, mode="mean", sparse=True, include_last_offset=True):
             each position is the mean of its word's feature rows; padding is an empty bag (0)
  position   Embedding(64, 32), added to every message's positions 0..L-1
  encoder    1 x TransformerEncoderLayer(32, 2 heads, ff 64, dropout 0.1, relu, eps 1e-5,
             batch_first, norm_first), no final norm; padding as src_key_padding_mask
  pool       mean over the unpadded positions
  head       Linear(32, 2)
  loss       cross_entropy; step: zero_grad, backward, lazy Adam on the embedding rows
             (SparseAdam, lr 0.05: ember's AdamW on row-sparse gradients, weight decay 0)
             and AdamW on the rest (lr 2e-3, weight decay 0)

Batch: 32 messages padded to 64 positions; message i has 64 - (13 i mod 48) words of 15
random ids each. Prints one line:
  TORCH_STEP device=cuda ms_per_step=1.234 params=8399266 steps=200 ...
Usage: python3 scripts/torch_spam_transformer_step.py [--device cuda|cpu] [--steps N]
(torch is needed only to run this script; ember does not depend on it.)
"""
import argparse
import os
import time

# Plain FP32 GEMMs, as ember's (cuBLAS with CUBLAS_DEFAULT_MATH, no TF32): NGC's PyTorch
# containers set this variable, which makes cuBLAS use TF32 whatever the flags below say.
os.environ.pop("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE", None)

import torch  # noqa: E402
from torch import nn  # noqa: E402

BUCKETS, DIM, MAX_TOKENS, HEADS, FF, LAYERS, DROPOUT = 1 << 18, 32, 64, 2, 64, 1, 0.1
BATCH, IDS_PER_WORD = 32, 15
LR_SPARSE, LR_DENSE = 0.05, 2e-3


class TransformerNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.EmbeddingBag(BUCKETS, DIM, mode="mean", sparse=True, include_last_offset=True)
        self.position = nn.Embedding(MAX_TOKENS, DIM)
        layer = nn.TransformerEncoderLayer(DIM, HEADS, FF, DROPOUT, activation="relu", layer_norm_eps=1e-5,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
        self.head = nn.Linear(DIM, 2)

    def forward(self, ids, offsets, padding):
        rows, length = padding.shape
        x = self.embedding(ids, offsets).view(rows, length, DIM)
        x = x + self.position(torch.arange(length, device=ids.device))
        x = self.encoder(x, src_key_padding_mask=padding)
        keep = padding.logical_not().float().unsqueeze(2)
        pooled = (x * keep).sum(1) / keep.sum(1)
        return self.head(pooled)


def make_batch(device, generator):
    length = MAX_TOKENS
    ids, offsets = [], []
    padding = torch.ones(BATCH, length, dtype=torch.bool)
    total = 0
    for i in range(BATCH):
        words = length - (13 * i) % 48
        padding[i, :words] = False
        for p in range(length):
            offsets.append(total)
            if p < words:
                total += IDS_PER_WORD
    offsets.append(total)
    ids = torch.randint(0, BUCKETS, (total,), generator=generator)
    targets = torch.tensor([i % 2 for i in range(BATCH)])
    return (ids.to(device), torch.tensor(offsets).to(device), padding.to(device), targets.to(device), total)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--steps", type=int, default=200, help="timed steps")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (ember's bench uses 1)")
    ap.add_argument("--fused", action="store_true", help="AdamW(fused=True) for the dense group")
    args = ap.parse_args()
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = False  # the default, pinned: same precision as ember
    torch.set_float32_matmul_precision("highest")
    torch.manual_seed(0)
    model = TransformerNet().to(device).train()
    ids, offsets, padding, targets, n_ids = make_batch(device, torch.Generator().manual_seed(0))
    sparse = [model.embedding.weight]
    dense = [p for p in model.parameters() if p is not model.embedding.weight]
    opt_sparse = torch.optim.SparseAdam(sparse, lr=LR_SPARSE)
    opt_dense = torch.optim.AdamW(dense, lr=LR_DENSE, weight_decay=0.0, **({"fused": True} if args.fused else {}))

    def step():
        loss = nn.functional.cross_entropy(model(ids, offsets, padding), targets)
        opt_sparse.zero_grad()
        opt_dense.zero_grad()
        loss.backward()
        opt_sparse.step()
        opt_dense.step()

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(args.warmup):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
        sync()  # as ember's benchmark does at the end of every iteration
    ms = (time.perf_counter() - start) * 1e3 / args.steps
    params = sum(p.numel() for p in model.parameters())
    print(f"TORCH_STEP device={device.type} ms_per_step={ms:.4f} params={params} steps={args.steps} "
          f"batch={BATCH} length={MAX_TOKENS} ids={n_ids} threads={args.threads} torch={torch.__version__}"
          f"{' fused' if args.fused else ''}")


if __name__ == "__main__":
    main()
