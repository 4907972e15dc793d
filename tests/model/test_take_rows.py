"""`take_rows`, the in-range lookup of the feature tower, against NumPy."""

import jax
import jax.numpy as jnp
import numpy as np

from jointrec.model.feature_tower import take_rows


def test_take_rows_matches_numpy_values_and_gradient() -> None:
    rng = np.random.default_rng(0)
    table = rng.normal(size=(7, 3)).astype(np.float32)
    codes = rng.integers(0, 7, size=(4, 5))  # repeated codes: the gradient must add up
    upstream = rng.normal(size=(4, 5, 3)).astype(np.float32)

    np.testing.assert_array_equal(np.asarray(take_rows(table, codes)), table[codes])

    grad = jax.grad(lambda t: jnp.sum(take_rows(t, codes) * upstream))(jnp.asarray(table))
    expected = np.zeros_like(table)
    np.add.at(expected, codes, upstream)
    np.testing.assert_allclose(np.asarray(grad), expected, rtol=1e-6, atol=1e-6)
