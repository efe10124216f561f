"""Ground-truth localization: organisms confined to known layers, every method scored against nulls."""
