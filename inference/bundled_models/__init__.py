"""Where an installer puts the built default model (read-only): this package's folder.

Kept as a package so ``importlib.resources`` finds it in a wheel install and in the
installed app alike; see ``inference.model_cache.bundled_models_dir``."""
