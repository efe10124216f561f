"""The domain: organism specs, the built-in catalogue, model resolution and run directories."""
