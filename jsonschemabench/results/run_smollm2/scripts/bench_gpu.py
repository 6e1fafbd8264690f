"""Per-process decode step time of a SmolLM2-135M-shaped model (random weights) on the GPU, started in sync."""
import json, os, sys, time
import numpy as np
import torch
from transformers import LlamaConfig, LlamaForCausalLM
sys.path.insert(0, os.getcwd())
from tokensieve._generate import _forward
from tokensieve.masking import apply_token_bitmask_inplace

steps, start_at, dev = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
torch.set_num_threads(1)
cfg = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                  num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=8192,
                  tie_word_embeddings=True)
torch.manual_seed(0)
model = LlamaForCausalLM(cfg).eval().to(dev)
bm = np.full((1, 1536), -1, dtype=np.int32)
with torch.inference_mode():
    prompt = torch.randint(0, 49152, (1, 1200), device=dev)
    _forward(model, prompt[:, :16], None)
    while time.time() < start_at:
        time.sleep(0.05)
    t0 = time.perf_counter()
    logits, past = _forward(model, prompt, None)
    tok = int(torch.argmax(logits[0]))
    tp = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        logits, past = _forward(model, torch.tensor([[tok]], device=dev), past)
        apply_token_bitmask_inplace(logits, bm)
        tok = int(torch.argmax(logits[0]))
    dt = time.perf_counter() - t0
print(json.dumps({"prefill_s": tp, "step_ms": 1000 * dt / steps}))
