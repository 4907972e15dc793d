"""The JAX implementation of the backend interface (`jointrec.backend`)."""
