"""The blind audit: hypotheses about an adapter from its weights and behaviour alone, and its benchmark."""
