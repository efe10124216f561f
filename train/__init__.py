"""LoRA SFT of organisms (trl + peft), launchable with `accelerate launch -m train SPEC`."""
