#!/usr/bin/env python3
"""Writes tests/fixtures/optim_reference.json: PyTorch's trajectories for ember's optimizer,
scheduler and gradient-clipping tests (tests/test_optim_reference.cpp).

Every optimizer case runs 5 steps on the same small problem: parameters a [2, 3] and b [3]
(float32), loss = sum(w * (p - t)^2) over both, fresh backward each step. Sparse cases set a
row-sparse gradient on e [5, 3] directly. Scheduler cases record get_last_lr() (and the
momentum that OneCycleLR cycles) after construction and after each step.

Run from the repository root: python3 scripts/make_optim_reference.py
"""
import json
import math
import os

import torch

torch.set_default_dtype(torch.float32)
STEPS = 5

A0 = [[0.5, -1.25, 2.0], [0.75, 0.1, -0.3]]
B0 = [1.5, -0.5, 0.25]
TA = [[0.0, 1.0, -1.0], [2.0, 0.5, 0.0]]
TB = [-1.0, 0.5, 2.0]
WA = [[1.0, 0.5, 2.0], [0.25, 3.0, 1.5]]
WB = [0.5, 1.0, 2.5]
E0 = [[0.1 * (3 * r + c) - 0.7 for c in range(3)] for r in range(5)]


def problem():
    a = torch.tensor(A0, requires_grad=True)
    b = torch.tensor(B0, requires_grad=True)
    return a, b


def loss_of(a, b):
    ta, tb = torch.tensor(TA), torch.tensor(TB)
    wa, wb = torch.tensor(WA), torch.tensor(WB)
    return (wa * (a - ta) * (a - ta)).sum() + (wb * (b - tb) * (b - tb)).sum()


def run_dense(make_opt):
    a, b = problem()
    opt = make_opt([a, b])
    traj = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss_of(a, b).backward()
        opt.step()
        traj.append({"a": a.detach().flatten().tolist(), "b": b.detach().tolist()})
    return traj


def sparse_grads():
    """Per step: row indices (with a duplicate) and values [n, 3]."""
    out = []
    for k in range(STEPS):
        rows = [k % 5, (k + 2) % 5, k % 5]
        values = [[0.3 * (k + 1) - 0.2 * j + 0.05 * c for c in range(3)] for j in range(3)]
        out.append({"rows": rows, "values": values})
    return out


def run_sparse(make_opt):
    e = torch.tensor(E0, requires_grad=True)
    opt = make_opt([e])
    traj = []
    for g in sparse_grads():
        opt.zero_grad()
        e.grad = torch.sparse_coo_tensor(torch.tensor([g["rows"]]), torch.tensor(g["values"]), (5, 3))
        opt.step()
        traj.append({"e": e.detach().flatten().tolist()})
    return traj


def optimizer_cases():
    SGD, Adam, AdamW = torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW
    cases = {
        "sgd_plain": ({"type": "SGD", "lr": 0.1}, lambda p: SGD(p, lr=0.1)),
        "sgd_momentum_nesterov_wd": (
            {"type": "SGD", "lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
            lambda p: SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
        "sgd_momentum_dampening": (
            {"type": "SGD", "lr": 0.05, "momentum": 0.8, "dampening": 0.3},
            lambda p: SGD(p, lr=0.05, momentum=0.8, dampening=0.3)),
        "sgd_maximize": (
            {"type": "SGD", "lr": 0.01, "momentum": 0.5, "maximize": True},
            lambda p: SGD(p, lr=0.01, momentum=0.5, maximize=True)),
        "adam_plain": ({"type": "Adam", "lr": 0.01}, lambda p: Adam(p, lr=0.01, foreach=False)),
        "adam_amsgrad_wd": (
            {"type": "Adam", "lr": 0.02, "betas": [0.8, 0.95], "amsgrad": True, "weight_decay": 0.1},
            lambda p: Adam(p, lr=0.02, betas=(0.8, 0.95), amsgrad=True, weight_decay=0.1, foreach=False)),
        "adam_maximize_lowbeta": (
            {"type": "Adam", "lr": 0.05, "betas": [0.3, 0.9], "maximize": True, "eps": 1e-6},
            lambda p: Adam(p, lr=0.05, betas=(0.3, 0.9), maximize=True, eps=1e-6, foreach=False)),
        "adamw": ({"type": "AdamW", "lr": 0.01, "weight_decay": 0.1},
                  lambda p: AdamW(p, lr=0.01, weight_decay=0.1, foreach=False)),
        "adamw_amsgrad": ({"type": "AdamW", "lr": 0.03, "amsgrad": True},
                          lambda p: AdamW(p, lr=0.03, amsgrad=True, foreach=False)),
    }
    out = {}
    for name, (options, make) in cases.items():
        out[name] = {"options": options, "trajectory": run_dense(make)}

    # Two groups: a with the defaults, b with its own lr and momentum.
    def groups(p):
        opt = SGD([p[0]], lr=0.1)
        opt.add_param_group({"params": [p[1]], "lr": 0.01, "momentum": 0.9})
        return opt
    out["sgd_groups"] = {"options": {"type": "SGD", "lr": 0.1, "group_b": {"lr": 0.01, "momentum": 0.9}},
                         "trajectory": run_dense(groups)}
    return out


def sparse_cases():
    return {
        "sparse_adam": {"options": {"type": "Adam", "lr": 0.05, "betas": [0.9, 0.99], "eps": 1e-8},
                        "trajectory": run_sparse(lambda p: torch.optim.SparseAdam(p, lr=0.05, betas=(0.9, 0.99)))},
        "sparse_sgd": {"options": {"type": "SGD", "lr": 0.1},
                       "trajectory": run_sparse(lambda p: torch.optim.SGD(p, lr=0.1))},
    }


SCHED_STEPS = 11


def run_sched(make, adam=False):
    x, y = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
    if adam:
        opt = torch.optim.Adam([{"params": [x], "lr": 0.1}, {"params": [y], "lr": 0.05}], foreach=False)
    else:
        opt = torch.optim.SGD([{"params": [x], "lr": 0.1}, {"params": [y], "lr": 0.05}], momentum=0.9)
    sched = make(opt)
    key = "betas" if adam else "momentum"
    mom = lambda: [(g[key][0] if adam else g[key]) for g in opt.param_groups]
    lrs, moms = [list(sched.get_last_lr())], [mom()]
    for _ in range(SCHED_STEPS):
        opt.step()
        sched.step()
        lrs.append(list(sched.get_last_lr()))
        moms.append(mom())
    return {"lr": lrs, "momentum": moms}


def warmup_cosine(warmup, total, eta_min, base_lrs):
    def factor(base):
        def f(e):
            if e < warmup:
                return e / warmup
            progress = min(1.0, (e - warmup) / (total - warmup))
            return (eta_min + (base - eta_min) * 0.5 * (1 + math.cos(math.pi * progress))) / base
        return f
    return [factor(b) for b in base_lrs]


def scheduler_cases():
    S = torch.optim.lr_scheduler
    return {
        "step_lr": run_sched(lambda o: S.StepLR(o, step_size=3, gamma=0.5)),
        "multistep_lr": run_sched(lambda o: S.MultiStepLR(o, milestones=[2, 5, 9], gamma=0.3)),
        "exponential_lr": run_sched(lambda o: S.ExponentialLR(o, gamma=0.9)),
        "cosine_annealing_lr": run_sched(lambda o: S.CosineAnnealingLR(o, T_max=8, eta_min=0.001)),
        "linear_lr": run_sched(lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4)),
        "one_cycle_cos": run_sched(lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=12, pct_start=0.3)),
        "one_cycle_linear_three_phase": run_sched(lambda o: S.OneCycleLR(
            o, max_lr=0.4, total_steps=12, pct_start=0.25, anneal_strategy="linear", three_phase=True,
            div_factor=10.0, final_div_factor=100.0)),
        "one_cycle_adam": run_sched(lambda o: S.OneCycleLR(o, max_lr=0.3, total_steps=12), adam=True),
        "warmup_cosine": run_sched(lambda o: S.LambdaLR(o, warmup_cosine(3, 10, 0.0, [0.1, 0.05]))),
        "warmup_cosine_eta_min": run_sched(lambda o: S.LambdaLR(o, warmup_cosine(3, 10, 0.002, [0.1, 0.05]))),
    }


def clip_cases():
    out = {}
    for name, norm_type, max_norm in [("l2", 2.0, 1.0), ("l1", 1.0, 2.0), ("inf", math.inf, 0.5), ("no_clip", 2.0, 100.0)]:
        a, b = problem()
        loss_of(a, b).backward()
        total = torch.nn.utils.clip_grad_norm_([a, b], max_norm, norm_type=norm_type)
        out[name] = {"norm_type": "inf" if math.isinf(norm_type) else norm_type, "max_norm": max_norm,
                     "total_norm": total.item(), "a_grad": a.grad.flatten().tolist(), "b_grad": b.grad.tolist()}
    a, b = problem()
    loss_of(a, b).backward()
    torch.nn.utils.clip_grad_value_([a, b], 1.5)
    out["value"] = {"clip_value": 1.5, "a_grad": a.grad.flatten().tolist(), "b_grad": b.grad.tolist()}
    return out


def main():
    data = {
        "torch_version": torch.__version__,
        "problem": {"a0": A0, "b0": B0, "ta": TA, "tb": TB, "wa": WA, "wb": WB, "e0": E0, "steps": STEPS,
                    "sparse_grads": sparse_grads()},
        "optimizers": {**optimizer_cases(), **sparse_cases()},
        "schedulers": scheduler_cases(),
        "clip": clip_cases(),
    }
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "tests", "fixtures", "optim_reference.json")
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
