#!/usr/bin/env python3
"""Writes the PyTorch reference data for tests/fusion. Run with Debian's python3
(python3-torch, python3-numpy):

    /usr/bin/python3 tests/fusion/generate_fixtures.py

Every operator is written below from the math in docs/reference.md ("Fusion"), in the
form the peers (MMSA, MultiBench, block.bootstrap.pytorch, MAG-BERT, MERTools) write it. Per
test case it writes, into tests/fusion/data/:
  <case>.safetensors   the module's state_dict (float32, PyTorch names)
  <case>_x<m>.npy      input of modality m in batch order (float64 holding float32 values)
  <case>_len<m>.npy    sequence lengths (uint64), for sequence inputs
  <case>_mask.npy      (batch, modalities) uint8 modality-present mask, when masked
  <case>_y.npy         expected output, computed in float64 from the same float32 values
so one fixture checks both the float and the double build.
"""
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))
from safetensors_writer import save_safetensors  # noqa: E402

torch.manual_seed(20261125)
rng = np.random.default_rng(20261125)

def f32(shape, scale=1.0):
    """Random values that are exactly representable in float32, as float64."""
    return torch.tensor(rng.normal(scale=scale, size=shape).astype(np.float32), dtype=torch.float64)


def init_module(module, scale=0.5):
    """Deterministic float32-representable parameters for every tensor of a module."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(f32(tuple(p.shape), scale))
    return module.double()


def save_case(case, module, inputs, output, mask=None, lengths=None, extra=None):
    state = {k: v.float() for k, v in module.state_dict().items()} if module is not None else {}
    if extra:
        state.update(extra)
    if state:
        save_safetensors(DATA / f"{case}.safetensors", state)
    for m, x in enumerate(inputs):
        np.save(DATA / f"{case}_x{m}.npy", x.detach().numpy().astype(np.float64))
    if lengths is not None:
        for m, ls in enumerate(lengths):
            np.save(DATA / f"{case}_len{m}.npy", np.asarray(ls, dtype=np.uint64))
    if mask is not None:
        np.save(DATA / f"{case}_mask.npy", mask.numpy().astype(np.uint8))
    np.save(DATA / f"{case}_y.npy", output.detach().numpy().astype(np.float64))


def apply_mask(inputs, mask):
    """emofuse's missing-modality rule: an absent modality's input is zeros."""
    if mask is None:
        return inputs
    out = []
    for m, x in enumerate(inputs):
        keep = mask[:, m].to(x.dtype).reshape((-1,) + (1,) * (x.dim() - 1))
        out.append(x * keep)
    return out


def random_mask(batch, modalities):
    mask = torch.tensor(rng.integers(0, 2, size=(batch, modalities)), dtype=torch.uint8)
    mask[0, :] = 1          # one complete sample
    mask[-1, :] = 0         # one sample with every modality absent
    mask[-1, 0] = 1 if batch > 2 else 0
    return mask


# ---------------------------------------------------------------------------------------------
# Tensor fusion (MMSA TFN / MultiBench TensorFusion / CMU-SDK form)


def tensor_product(inputs, prepend_one=True):
    """MMSA: cat ones, then bmm outer products, flattened with the last modality fastest."""
    batch = inputs[0].shape[0]
    z = None
    for h in inputs:
        f = torch.cat([torch.ones(batch, 1, dtype=h.dtype), h], dim=1) if prepend_one else h
        z = f if z is None else torch.bmm(z.unsqueeze(2), f.unsqueeze(1)).reshape(batch, -1)
    return z


class TensorFusionLinear(nn.Module):
    def __init__(self, dims, out, prepend_one=True, relu=False):
        super().__init__()
        width = int(np.prod([d + (1 if prepend_one else 0) for d in dims]))
        self.post_fusion_layer_1 = nn.Linear(width, out)
        self.prepend_one, self.relu = prepend_one, relu

    def forward(self, inputs):
        y = self.post_fusion_layer_1(tensor_product(inputs, self.prepend_one))
        return F.relu(y) if self.relu else y


def tensor_cases():
    for case, dims, batch, prepend, masked in [
        ("tfn_z", (3, 4, 2), 5, True, False),
        ("tfn_z_cmu", (3, 4, 2), 5, False, False),
        ("tfn_z_masked", (3, 4, 2), 5, True, True),
    ]:
        xs = [f32((batch, d)) for d in dims]
        mask = random_mask(batch, len(dims)) if masked else None
        save_case(case, None, xs, tensor_product(apply_mask(xs, mask), prepend), mask=mask)
    for case, dims, batch, out, prepend, relu, masked in [
        ("tfn_linear", (4, 6, 5), 5, 7, True, False, False),
        ("tfn_linear_relu", (4, 6, 5), 5, 7, True, True, False),
        ("tfn_linear_b1", (4, 6, 5), 1, 7, True, True, False),
        ("tfn_linear_cmu", (4, 6, 5), 5, 7, False, False, False),
        ("tfn_linear_2mod", (7, 3), 6, 5, True, False, False),
        ("tfn_linear_4mod", (2, 3, 1, 4), 3, 4, True, True, False),
        ("tfn_linear_wide", (5, 40, 13), 9, 11, True, False, False),  # several column blocks
        ("tfn_linear_masked", (4, 6, 5), 6, 7, True, False, True),
    ]:
        module = init_module(TensorFusionLinear(dims, out, prepend, relu), 0.3)
        xs = [f32((batch, d)) for d in dims]
        mask = random_mask(batch, len(dims)) if masked else None
        with torch.no_grad():
            y = module(apply_mask(xs, mask))
        save_case(case, module, xs, y, mask=mask)


# ---------------------------------------------------------------------------------------------
# Low-rank fusion (MMSA LMF)


class LMF(nn.Module):
    def __init__(self, dims, rank, out):
        super().__init__()
        self.audio_factor = nn.Parameter(torch.empty(rank, dims[0] + 1, out))
        self.video_factor = nn.Parameter(torch.empty(rank, dims[1] + 1, out))
        self.text_factor = nn.Parameter(torch.empty(rank, dims[2] + 1, out))
        self.fusion_weights = nn.Parameter(torch.empty(1, rank))
        self.fusion_bias = nn.Parameter(torch.empty(1, out))
        self.out = out

    def forward(self, inputs):
        audio_h, video_h, text_h = inputs
        batch = audio_h.shape[0]
        ones = torch.ones(batch, 1, dtype=audio_h.dtype)
        fusion_audio = torch.matmul(torch.cat([ones, audio_h], 1), self.audio_factor)
        fusion_video = torch.matmul(torch.cat([ones, video_h], 1), self.video_factor)
        fusion_text = torch.matmul(torch.cat([ones, text_h], 1), self.text_factor)
        fusion_zy = fusion_audio * fusion_video * fusion_text
        output = torch.matmul(self.fusion_weights, fusion_zy.permute(1, 0, 2)).squeeze(1)
        return (output + self.fusion_bias).view(-1, self.out)


def lmf_cases():
    for case, dims, batch, rank, out, masked in [
        ("lmf", (5, 3, 6), 5, 3, 4, False),
        ("lmf_b1", (5, 3, 6), 1, 3, 4, False),
        ("lmf_odd", (9, 1, 17), 7, 5, 3, False),
        ("lmf_masked", (5, 3, 6), 6, 3, 4, True),
    ]:
        module = init_module(LMF(dims, rank, out), 0.5)
        xs = [f32((batch, d)) for d in dims]
        mask = random_mask(batch, 3) if masked else None
        with torch.no_grad():
            y = module(apply_mask(xs, mask))
        save_case(case, module, xs, y, mask=mask)


# ---------------------------------------------------------------------------------------------
# MLP heads


class MLPHead(nn.Module):
    def __init__(self, sizes, act, mmsa_output):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.act, self.mmsa_output = act, mmsa_output

    def forward(self, inputs):
        (x,) = inputs
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i + 1 < len(self.layers):
                x = torch.relu(x) if self.act == "relu" else torch.tanh(x)
        return torch.sigmoid(x) * 6 - 3 if self.mmsa_output else x


def mlp_cases():
    for case, sizes, batch, act, mmsa in [
        ("mlp_relu", (6, 8, 5, 3), 5, "relu", False),
        ("mlp_tanh", (6, 8, 5, 3), 5, "tanh", False),
        ("mlp_mmsa", (7, 9, 1), 4, "relu", True),
        ("mlp_b1", (7, 9, 1), 1, "relu", True),
    ]:
        module = init_module(MLPHead(sizes, act, mmsa), 0.6)
        xs = [f32((batch, sizes[0]))]
        with torch.no_grad():
            y = module(xs)
        save_case(case, module, xs, y)




# ---------------------------------------------------------------------------------------------
# Gates: MAG (MAG-BERT), GMU, FiLM (MultiBench), NL-gate (MultiBench)


class MAG(nn.Module):
    """MAG-BERT's MAG forward, with its parameter names; inputs (text, visual, acoustic)."""

    def __init__(self, d_t, d_v, d_a, beta_shift):
        super().__init__()
        self.W_hv = nn.Linear(d_v + d_t, d_t)
        self.W_ha = nn.Linear(d_a + d_t, d_t)
        self.W_v = nn.Linear(d_v, d_t)
        self.W_a = nn.Linear(d_a, d_t)
        self.beta_shift = beta_shift
        self.LayerNorm = nn.LayerNorm(d_t)

    def forward(self, inputs):
        text_embedding, visual, acoustic = inputs
        eps = 1e-6
        weight_v = F.relu(self.W_hv(torch.cat((visual, text_embedding), dim=-1)))
        weight_a = F.relu(self.W_ha(torch.cat((acoustic, text_embedding), dim=-1)))
        h_m = weight_v * self.W_v(visual) + weight_a * self.W_a(acoustic)
        em_norm = text_embedding.norm(p=2, dim=-1)
        hm_norm = h_m.norm(p=2, dim=-1)
        hm_norm = torch.where(hm_norm == 0, torch.ones_like(hm_norm), hm_norm)
        thresh_hold = (em_norm / (hm_norm + eps)) * self.beta_shift
        alpha = torch.min(thresh_hold, torch.ones_like(thresh_hold)).unsqueeze(dim=-1)
        return self.LayerNorm(alpha * h_m + text_embedding)


class GMU(nn.Module):
    def __init__(self, dims, out, two_modal):
        super().__init__()
        self.projections = nn.ModuleList(nn.Linear(d, out) for d in dims)
        self.gate = nn.Linear(sum(dims), out if two_modal else out * len(dims))
        self.out, self.two_modal = out, two_modal

    def forward(self, inputs):
        hs = [torch.tanh(p(x)) for p, x in zip(self.projections, inputs)]
        z = torch.sigmoid(self.gate(torch.cat(inputs, dim=1)))
        if self.two_modal:
            return z * hs[0] + (1 - z) * hs[1]
        z = z.view(-1, len(hs), self.out)
        return sum(z[:, m] * h for m, h in enumerate(hs))


class FiLM(nn.Module):
    """MultiBench FiLM with linear gamma/beta networks: base modality 0, generated from 1."""

    def __init__(self, d_x, d_c):
        super().__init__()
        self.g_net = nn.Linear(d_c, d_x)
        self.b_net = nn.Linear(d_c, d_x)

    def forward(self, inputs):
        gamma = self.g_net(inputs[1])
        beta = self.b_net(inputs[1])
        return gamma * inputs[0] + beta


class NLgate(nn.Module):
    """MultiBench NLgate."""

    def __init__(self, thw_dim, c_dim, tf_dim, q_linear=None, k_linear=None, v_linear=None):
        super().__init__()
        self.qli = nn.Linear(*q_linear) if q_linear else None
        self.kli = nn.Linear(*k_linear) if k_linear else None
        self.vli = nn.Linear(*v_linear) if v_linear else None
        self.thw_dim, self.c_dim, self.tf_dim = thw_dim, c_dim, tf_dim

    def forward(self, x):
        q, k, v = x[0], x[1], x[1]
        qin = (q if self.qli is None else self.qli(q)).view(-1, self.thw_dim, self.c_dim)
        kin = (k if self.kli is None else self.kli(k)).view(-1, self.c_dim, self.tf_dim)
        vin = (v if self.vli is None else self.vli(v)).view(-1, self.tf_dim, self.c_dim)
        matmulled = torch.matmul(qin, kin)
        finalout = F.softmax(matmulled, dim=2)
        finalout = torch.matmul(finalout, vin)
        return torch.flatten(qin + finalout, 1)


def gate_cases():
    # MAG per time step on sequences (text, vision, audio) sharing T; lengths are written so the
    # C++ side can build sequences, every frame (padding too) is compared.
    for case, batch, steps, dims, beta, masked in [
        ("mag", 3, 4, (6, 2, 3), 1.0, False),
        ("mag_b1", 1, 5, (7, 3, 1), 0.5, False),
        ("mag_masked", 4, 3, (6, 2, 3), 1.0, True),
    ]:
        module = init_module(MAG(*dims, beta), 0.5)
        xs = [f32((batch, steps, d)) for d in dims]
        xs[0] = xs[0] * 0.3  # keep ‖t‖ below ‖H‖ for some frames so α < 1 is exercised
        mask = random_mask(batch, 3) if masked else None
        with torch.no_grad():
            y = module(apply_mask(xs, mask))
        lengths = [[steps] * batch] * 3
        lengths[0] = [max(1, steps - b) for b in range(batch)]
        save_case(case, module, xs, y, mask=mask, lengths=lengths)
    # Utterance-level MAG (features instead of sequences).
    module = init_module(MAG(5, 4, 3, 0.8), 0.5)
    xs = [f32((6, d)) for d in (5, 4, 3)]
    with torch.no_grad():
        save_case("mag_features", module, xs, module(xs))

    for case, dims, out, two, batch, masked in [
        ("gmu2", (5, 3), 4, True, 5, False),
        ("gmu3", (5, 3, 6), 4, False, 5, False),
        ("gmu2_b1", (5, 3), 4, True, 1, False),
        ("gmu3_masked", (5, 3, 6), 4, False, 6, True),
    ]:
        module = init_module(GMU(dims, out, two), 0.5)
        xs = [f32((batch, d)) for d in dims]
        mask = random_mask(batch, len(dims)) if masked else None
        with torch.no_grad():
            save_case(case, module, xs, module(apply_mask(xs, mask)), mask=mask)

    for case, batch, masked in [("film", 5, False), ("film_b1", 1, False), ("film_masked", 6, True)]:
        module = init_module(FiLM(5, 3), 0.5)
        xs = [f32((batch, 5)), f32((batch, 3))]
        mask = random_mask(batch, 2) if masked else None
        with torch.no_grad():
            save_case(case, module, xs, module(apply_mask(xs, mask)), mask=mask)

    for case, batch, linears in [("nl_gate", 4, False), ("nl_gate_linear", 3, True),
                                 ("nl_gate_b1", 1, False)]:
        thw, c, tf = 3, 4, 2
        if linears:
            module = init_module(NLgate(thw, c, tf, (7, thw * c), (5, c * tf), (5, tf * c)), 0.4)
            xs = [f32((batch, 7)), f32((batch, 5))]
        else:
            module = NLgate(thw, c, tf)
            xs = [f32((batch, thw * c)), f32((batch, c * tf))]
        with torch.no_grad():
            save_case(case, module, xs, module(xs))



# ---------------------------------------------------------------------------------------------
# Bilinear family (block.bootstrap.pytorch) and MCB


def activ(x, name):
    return x if name is None else getattr(torch, name)(x)


def power_l2(z):
    z = torch.sqrt(F.relu(z)) - torch.sqrt(F.relu(-z))
    return F.normalize(z, p=2)


class MLB(nn.Module):
    def __init__(self, dims, out, mm_dim, activ_input, activ_output, normalize):
        super().__init__()
        self.linear0 = nn.Linear(dims[0], mm_dim)
        self.linear1 = nn.Linear(dims[1], mm_dim)
        self.linear_out = nn.Linear(mm_dim, out)
        self.activ_input, self.activ_output, self.normalize = activ_input, activ_output, normalize

    def forward(self, x):
        x0 = activ(self.linear0(x[0]), self.activ_input)
        x1 = activ(self.linear1(x[1]), self.activ_input)
        z = x0 * x1
        if self.normalize:
            z = power_l2(z)
        return activ(self.linear_out(z), self.activ_output)


class MFB(nn.Module):
    def __init__(self, dims, out, mm_dim, factor, activ_input, activ_output, normalize):
        super().__init__()
        self.linear0 = nn.Linear(dims[0], mm_dim * factor)
        self.linear1 = nn.Linear(dims[1], mm_dim * factor)
        self.linear_out = nn.Linear(mm_dim, out) if out else None
        self.mm_dim, self.factor = mm_dim, factor
        self.activ_input, self.activ_output, self.normalize = activ_input, activ_output, normalize

    def forward(self, x):
        x0 = activ(self.linear0(x[0]), self.activ_input)
        x1 = activ(self.linear1(x[1]), self.activ_input)
        z = (x0 * x1).view(x0.size(0), self.mm_dim, self.factor).sum(2)
        if self.normalize:
            z = power_l2(z)
        if self.linear_out is not None:
            z = self.linear_out(z)
        return activ(z, self.activ_output)


class MFH(nn.Module):
    def __init__(self, dims, out, mm_dim, factor, activ_input, activ_output, normalize):
        super().__init__()
        self.linear0_0 = nn.Linear(dims[0], mm_dim * factor)
        self.linear1_0 = nn.Linear(dims[1], mm_dim * factor)
        self.linear0_1 = nn.Linear(dims[0], mm_dim * factor)
        self.linear1_1 = nn.Linear(dims[1], mm_dim * factor)
        self.linear_out = nn.Linear(mm_dim * 2, out)
        self.mm_dim, self.factor = mm_dim, factor
        self.activ_input, self.activ_output, self.normalize = activ_input, activ_output, normalize

    def forward(self, x):
        x0 = activ(self.linear0_0(x[0]), self.activ_input)
        x1 = activ(self.linear1_0(x[1]), self.activ_input)
        z_0_skip = x0 * x1
        z_0 = z_0_skip.view(z_0_skip.size(0), self.mm_dim, self.factor).sum(2)
        if self.normalize:
            z_0 = power_l2(z_0)
        x0 = activ(self.linear0_1(x[0]), self.activ_input)
        x1 = activ(self.linear1_1(x[1]), self.activ_input)
        z_1 = x0 * x1 * z_0_skip
        z_1 = z_1.view(z_1.size(0), self.mm_dim, self.factor).sum(2)
        if self.normalize:
            z_1 = power_l2(z_1)
        z = torch.cat([z_0, z_1], 1)
        return activ(self.linear_out(z), self.activ_output)


class Mutan(nn.Module):
    def __init__(self, dims, out, mm_dim, rank, activ_input, activ_output, normalize):
        super().__init__()
        self.linear0 = nn.Linear(dims[0], mm_dim)
        self.merge_linear0 = nn.Linear(mm_dim, mm_dim * rank)
        self.linear1 = nn.Linear(dims[1], mm_dim)
        self.merge_linear1 = nn.Linear(mm_dim, mm_dim * rank)
        self.linear_out = nn.Linear(mm_dim, out)
        self.mm_dim, self.rank = mm_dim, rank
        self.activ_input, self.activ_output, self.normalize = activ_input, activ_output, normalize

    def forward(self, x):
        x0 = activ(self.linear0(x[0]), self.activ_input)
        x1 = activ(self.linear1(x[1]), self.activ_input)
        m = self.merge_linear0(x0) * self.merge_linear1(x1)
        z = torch.sum(m.view(-1, self.rank, self.mm_dim), 1)
        if self.normalize:
            z = power_l2(z)
        return activ(self.linear_out(z), self.activ_output)


class MCB(nn.Module):
    """Count sketches as dense sketch matrices, FFT product, 1/D-scaled inverse (numpy's)."""

    def __init__(self, dims, out, normalize):
        super().__init__()
        self.h = [torch.tensor(rng.integers(0, out, size=d)) for d in dims]
        self.s = [torch.tensor(rng.choice([-1, 1], size=d)) for d in dims]
        self.out, self.normalize = out, normalize

    def sketch(self, x, m):
        matrix = torch.zeros(x.shape[1], self.out, dtype=x.dtype)
        matrix[torch.arange(x.shape[1]), self.h[m]] = self.s[m].to(x.dtype)
        return x @ matrix

    def forward(self, x):
        f0 = torch.fft.rfft(self.sketch(x[0], 0), dim=1)
        f1 = torch.fft.rfft(self.sketch(x[1], 1), dim=1)
        z = torch.fft.irfft(f0 * f1, n=self.out, dim=1)
        return power_l2(z) if self.normalize else z

    def buffers_for_file(self):
        return {"h0": self.h[0], "s0": self.s[0], "h1": self.h[1], "s1": self.s[1]}


def bilinear_cases():
    batch_sizes = {"": 5, "_b1": 1}
    for suffix, batch in batch_sizes.items():
        for case, cls, args in [
            ("mlb", MLB, ((6, 5), 3, 7, "relu", None, False)),
            ("mlb_norm", MLB, ((6, 5), 3, 7, "tanh", "relu", True)),
            ("mfb", MFB, ((6, 5), 3, 4, 3, "relu", None, True)),
            ("mfb_plain", MFB, ((6, 5), None, 4, 2, None, None, True)),  # the benchmark's form
            ("mfh", MFH, ((6, 5), 3, 4, 3, "relu", "tanh", True)),
            ("mfh_raw", MFH, ((6, 5), 3, 4, 2, None, None, False)),
            ("mutan", Mutan, ((6, 5), 3, 4, 3, "relu", None, True)),
            ("mutan_raw", Mutan, ((6, 5), 3, 5, 15, None, None, False)),
        ]:
            if suffix and case not in ("mlb", "mfb", "mfh", "mutan"):
                continue
            module = init_module(cls(*args), 0.5)
            xs = [f32((batch, 6)), f32((batch, 5))]
            with torch.no_grad():
                save_case(case + suffix, module, xs, module(xs))
    masked = init_module(MFB((6, 5), 3, 4, 3, "relu", None, True), 0.5)
    xs = [f32((6, 6)), f32((6, 5))]
    mask = random_mask(6, 2)
    with torch.no_grad():
        save_case("mfb_masked", masked, xs, masked(apply_mask(xs, mask)), mask=mask)

    for case, dims, out, batch, normalize in [
        ("mcb", (6, 5), 16, 4, False),
        ("mcb_norm", (7, 6), 8, 3, True),  # every bin filled: sign·sqrt is ill-conditioned at 0
        ("mcb_b1", (7, 9), 8, 1, False),
        ("mcb_wide", (40, 50), 64, 3, False),  # d_0·d_1 > 5·D·log2 D: automatic picks the FFT
    ]:
        module = MCB(dims, out, normalize)
        xs = [f32((batch, dims[0])), f32((batch, dims[1]))]
        with torch.no_grad():
            y = module(xs)
        save_case(case, None, xs, y, extra=module.buffers_for_file())


# ---------------------------------------------------------------------------------------------
# Multiplicative interactions (MultiBench), product of experts (MVAE), attention sums


class MultiplicativeInteractions2Modal(nn.Module):
    def __init__(self, input_dims, output_dim, output):
        super().__init__()
        n, m = input_dims
        if output == "matrix":
            self.W = nn.Parameter(torch.empty(n, m, output_dim))
            self.U = nn.Parameter(torch.empty(n, output_dim))
            self.V = nn.Parameter(torch.empty(m, output_dim))
            self.b = nn.Parameter(torch.empty(output_dim))
        elif output == "matrix3D":
            p, q = output_dim
            self.W = nn.Parameter(torch.empty(n, m, p, q))
            self.U = nn.Parameter(torch.empty(n, p, q))
            self.V = nn.Parameter(torch.empty(m, p, q))
            self.b = nn.Parameter(torch.empty(p, q))
        elif output == "vector":
            self.W = nn.Parameter(torch.empty(n, m))
            self.U = nn.Parameter(torch.empty(n, m))
            self.V = nn.Parameter(torch.empty(m))
            self.b = nn.Parameter(torch.empty(m))
        else:
            self.W = nn.Parameter(torch.empty(n))
            self.U = nn.Parameter(torch.empty(n))
            self.V = nn.Parameter(torch.empty(1))
            self.b = nn.Parameter(torch.empty(1))
        self.output = output

    def forward(self, modalities):
        m1, m2 = modalities
        if self.output == "matrix3D":
            Wprime = torch.einsum("bn, nmpq -> bmpq", m1, self.W) + self.V
            bprime = torch.einsum("bn, npq -> bpq", m1, self.U) + self.b
            return torch.einsum("bm, bmpq -> bpq", m2, Wprime) + bprime
        if self.output == "matrix":
            Wprime = torch.einsum("bn, nmd -> bmd", m1, self.W) + self.V
            bprime = torch.matmul(m1, self.U) + self.b
            return torch.einsum("bm, bmd -> bd", m2, Wprime) + bprime
        if self.output == "vector":
            Wprime = torch.matmul(m1, self.W) + self.V
            bprime = torch.matmul(m1, self.U) + self.b
            return Wprime * m2 + bprime
        Wprime = torch.matmul(m1, self.W.unsqueeze(1)).squeeze(1) + self.V
        bprime = torch.matmul(m1, self.U.unsqueeze(1)).squeeze(1) + self.b
        return Wprime.unsqueeze(1) * m2 + bprime.unsqueeze(1)


class MultiplicativeInteractions3Modal(nn.Module):
    def __init__(self, input_dims, output_dim):
        super().__init__()
        self.a = MultiplicativeInteractions2Modal(input_dims[:2], [input_dims[2], output_dim],
                                                  "matrix3D")
        self.b = MultiplicativeInteractions2Modal(input_dims[:2], output_dim, "matrix")

    def forward(self, modalities):
        # Per sample m_3ᵀ·A (MultiBench's torch.matmul would broadcast across the batch).
        a = self.a(modalities[:2])
        return torch.einsum("bp, bpq -> bq", modalities[2], a) + self.b(modalities[:2])


class ProductOfExperts(nn.Module):
    def forward(self, mus, logvars, eps=1e-8):
        var = torch.exp(logvars) + eps
        T = 1.0 / var
        pd_mu = torch.sum(mus * T, dim=0) / torch.sum(T, dim=0)
        pd_var = 1.0 / torch.sum(T, dim=0)
        return pd_mu, torch.log(pd_var)


class AttentionSum(nn.Module):
    def __init__(self, n, d, hidden, softmax):
        super().__init__()
        self.attention_mlp = nn.Linear(n * d, hidden)
        self.fc_att = nn.Linear(hidden, n)
        self.softmax = softmax

    def forward(self, xs):
        a = self.fc_att(F.relu(self.attention_mlp(torch.cat(xs, dim=1))))
        if self.softmax:
            a = F.softmax(a, dim=1)
        stacked = torch.stack(xs, dim=2)  # (B, d, N)
        return torch.matmul(stacked, a.unsqueeze(2)).squeeze(2)


def misc_cases():
    for case, dims, out, kind, batch in [
        ("mi_matrix", (4, 3), 5, "matrix", 5),
        ("mi_vector", (4, 3), None, "vector", 5),
        ("mi_scalar", (4, 3), None, "scalar", 5),
        ("mi_matrix_b1", (4, 3), 5, "matrix", 1),
    ]:
        module = init_module(MultiplicativeInteractions2Modal(dims, out, kind), 0.5)
        xs = [f32((batch, dims[0])), f32((batch, dims[1]))]
        with torch.no_grad():
            save_case(case, module, xs, module(xs))
    module = init_module(MultiplicativeInteractions3Modal((4, 3, 2), 5), 0.5)
    xs = [f32((5, 4)), f32((5, 3)), f32((5, 2))]
    with torch.no_grad():
        save_case("mi_3modal", module, xs, module(xs))

    poe = ProductOfExperts()
    for case, batch, prior, masked in [("poe", 5, True, False), ("poe_noprior", 4, False, False),
                                       ("poe_masked", 6, True, True)]:
        d, n = 4, 3
        xs = [torch.cat([f32((batch, d)), f32((batch, d), 0.7)], dim=1) for _ in range(n)]
        mask = random_mask(batch, n) if masked else None
        ys = []
        for b in range(batch):
            mus = [x[b, :d] for m, x in enumerate(xs) if mask is None or mask[b, m]]
            logvars = [x[b, d:] for m, x in enumerate(xs) if mask is None or mask[b, m]]
            if prior:
                mus.append(torch.zeros(d))
                logvars.append(torch.zeros(d))
            mu, logvar = poe(torch.stack(mus), torch.stack(logvars))
            ys.append(torch.cat([mu, logvar]))
        save_case(case, None, xs, torch.stack(ys), mask=mask)

    for case, softmax, batch, masked in [("att_softmax", True, 5, False), ("att_raw", False, 5, False),
                                         ("att_softmax_b1", True, 1, False),
                                         ("att_raw_masked", False, 6, True)]:
        module = init_module(AttentionSum(3, 4, 6, softmax), 0.5)
        xs = [f32((batch, 4)) for _ in range(3)]
        mask = random_mask(batch, 3) if masked else None
        with torch.no_grad():
            save_case(case, module, xs, module(apply_mask(xs, mask)), mask=mask)

    # Masked late concat and early concat (per time step) with a frame mask from lengths.
    xs = [f32((5, d)) for d in (3, 2, 4)]
    mask = random_mask(5, 3)
    save_case("concat_masked", None, xs, torch.cat(apply_mask(xs, mask), dim=1), mask=mask)
    seqs = [f32((3, 4, d)) for d in (2, 3)]
    save_case("early_concat", None, seqs, torch.cat(seqs, dim=2),
              lengths=[[4, 2, 3], [4, 3, 1]])

    # Late decision fusion: weighted mean (weights 0.5, 0.3, 0.2) and majority votes.
    preds = [f32((6, 3)) for _ in range(3)]
    w = torch.tensor([0.5, 0.3, 0.2])
    save_case("decision_mean", None, preds, sum(wi * p for wi, p in zip(w, preds)) / w.sum())
    mask = random_mask(6, 3)
    mask[mask.sum(dim=1) == 0, 1] = 1  # every sample keeps at least one prediction
    ys = []
    for b in range(6):
        present = [m for m in range(3) if mask[b, m]]
        ys.append(sum(w[m] * preds[m][b] for m in present) / sum(w[m] for m in present))
    save_case("decision_mean_masked", None, preds, torch.stack(ys), mask=mask)
    votes = torch.stack([p.argmax(dim=1) for p in preds], dim=1)
    winners = [int(np.argmax(np.bincount(v.numpy(), minlength=3))) for v in votes]
    save_case("decision_vote", None, preds, torch.tensor(winners, dtype=torch.float64).unsqueeze(1))



def wide_cases():
    """Sizes past one SIMD register (16 floats / 8 doubles) plus a tail, for the vectorised
    row passes (MAG's norms and LayerNorm)."""
    module = init_module(MAG(37, 5, 4, 0.7), 0.3)
    xs = [f32((2, 3, d)) for d in (37, 5, 4)]
    with torch.no_grad():
        save_case("mag_wide", module, xs, module(xs), lengths=[[3, 2], [3, 3], [3, 3]])


if __name__ == "__main__":
    DATA.mkdir(exist_ok=True)
    torch.set_default_dtype(torch.float64)
    tensor_cases()
    lmf_cases()
    mlp_cases()
    gate_cases()
    bilinear_cases()
    misc_cases()
    wide_cases()
