"""Batch loaders, one module per domain; get them via `ctx.loader(LoaderClass)`."""
