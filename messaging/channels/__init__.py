"""Channel adapters: one module per channel behind the small interface of `base`."""
