"""pcct: exact parallel cover-tree k-nearest neighbours.

Metrics: Euclidean, and the residual correlation of a Vecchia-inducing-points Gaussian
process, d_ij = sqrt(1 - |rho_ij|) with rho_ij = (K_ij - V_i.V_j) / sqrt(p_i p_j).
"""
from . import kernels
from ._core import simd_level
from .index import KnnIndex, brute_force_knn, cover_tree
from .model import ResidualModel, choose_inducing

__version__ = "0.1.0"
__all__ = ["kernels", "ResidualModel", "KnnIndex", "cover_tree", "brute_force_knn", "choose_inducing",
           "simd_level", "__version__"]
