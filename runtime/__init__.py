"""The model runtime: resolving and loading models (the embedded ones too), generation and scoring,
activations, chat backends, run directories and W&B. Everything that imports torch or transformers lives here
or above."""
