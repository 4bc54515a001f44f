"""Broad-suite cases: linear algebra, FFT and complex inputs."""

from __future__ import annotations

import numpy as np
from broad_cases import A33, A34, _spd, case, pt


# ---------------------------------------------------------------------------- linalg
@case(pt(3, 3))
def solve_case(x):
    A = x + 3 * np.eye(3)
    return np.sum(np.linalg.solve(A, np.array([1.0, 2.0, 3.0])))


@case(pt(3, 3))
def inv_case(x):
    return np.sum(np.linalg.inv(x + 3 * np.eye(3)) * A33)


@case(pt(3, 3))
def det_case(x):
    return np.linalg.det(x + 2 * np.eye(3))


@case(pt(3, 3))
def slogdet_case(x):
    s, ld = np.linalg.slogdet(x + 2 * np.eye(3))
    return s * ld


@case(pt(9))
def gaussian_logdet(x):
    S = _spd(x, 3)
    r = np.array([0.3, -0.2, 0.1])
    return 0.5 * r @ np.linalg.solve(S, r) + 0.5 * np.linalg.slogdet(S)[1]


@case(pt(4))
def norm_vector(x):
    return np.linalg.norm(x) + np.linalg.norm(x, 1) + np.linalg.norm(x, np.inf) + np.linalg.norm(x, 3)


@case(pt(2, 3))
def norm_matrix(x):
    return np.linalg.norm(x, "fro") + np.linalg.norm(x, axis=1).sum() + np.linalg.norm(x, ord=2)


@case(pt(2, 3))
def norm_nuc(x):
    return np.linalg.norm(x, "nuc")


@case(pt(9))
def eigh_values(x):
    w = np.linalg.eigvalsh(_spd(x, 3))
    return np.sum(w**2) + w[-1]


@case(pt(9))
def eigh_vectors(x):
    w, V = np.linalg.eigh(_spd(x, 3))
    return np.sum(V[:, 0] ** 4) + w @ np.abs(V[0])


@case(pt(3, 3))
def svd_values(x):
    return np.sum(np.linalg.svd(x, compute_uv=False) ** 3)


@case(pt(3, 2))
def svd_vectors(x):
    U, s, Vh = np.linalg.svd(x, full_matrices=False)
    return np.sum(U[:, 0] ** 4) + np.sum(s) + np.sum(Vh[0] ** 4)


@case(pt(3, 2))
def svd_reconstruct(x):
    U, s, Vh = np.linalg.svd(x, full_matrices=False)
    return np.sum((U * s) @ Vh * A34[:, :2])


@case(pt(3, 3))
def qr_square(x):
    Q, R = np.linalg.qr(x)
    return np.sum(Q * A33) + np.sum(np.abs(np.diag(R)))


@case(pt(4, 2))
def qr_tall(x):
    Q, R = np.linalg.qr(x)
    return np.sum(Q**3) + np.sum(R * np.array([[1.0, 2.0], [0.0, 3.0]]))


@case(pt(9))
def cholesky_case(x):
    L = np.linalg.cholesky(_spd(x, 3))
    return np.sum(L * A33) + 2 * np.sum(np.log(np.diag(L)))


@case(pt(4, 2))
def lstsq_case(x):
    sol = np.linalg.lstsq(x + np.eye(4, 2), np.arange(4.0), rcond=None)[0]
    return np.sum(sol**2)


@case(pt(3, 2))
def pinv_tall(x):
    return np.sum(np.linalg.pinv(x + np.eye(3, 2)) * A34[:2, :3])


@case(pt(2, 3))
def pinv_wide(x):
    return np.sum(np.linalg.pinv(x + np.eye(2, 3)) ** 2)


@case(pt(3, 3))
def eig_real_case(x):
    A = np.diag([1.0, 2.0, 4.0]) + 0.3 * x
    w, V = np.linalg.eig(A)
    return np.sum(np.real(w) ** 2) + np.sum(np.abs(V[:, 0]) ** 3)


@case(pt(2, 2))
def eigvals_case(x):
    return np.sum(np.abs(np.linalg.eigvals(x + np.array([[0.0, 1.0], [-1.0, 0.0]]))) ** 2)


@case(pt(3, 3))
def matrix_power_case(x):
    return np.sum(np.linalg.matrix_power(0.5 * x, 3))


@case(pt(2, 3, 3))
def stacked_inv_det(x):
    A = x + 3 * np.eye(3)
    return np.sum(np.linalg.inv(A)) + np.sum(np.linalg.det(A))


@case(pt(3, 3))
def multi_dot_case(x):
    return np.sum(np.linalg.multi_dot([x, A33, x.T]))


# ---------------------------------------------------------------------------- FFT
@case(pt(6))
def fft_power(x):
    return np.sum(np.abs(np.fft.fft(x)) ** 2)


@case(pt(6))
def rfft_irfft(x):
    F = np.fft.rfft(x)
    return np.sum(np.fft.irfft(F * np.exp(-np.arange(4.0)), n=6) ** 2)


@case(pt(2, 4))
def fft2_case(x):
    return np.sum(np.real(np.fft.ifft2(np.fft.fft2(x) * (1 + 0.5j))) ** 2)


@case(pt(6))
def fftshift_case(x):
    return np.sum(np.fft.fftshift(x) * np.arange(6.0))


# ---------------------------------------------------------------------------- complex
@case(pt(3, cplx=True))
def complex_abs2(x):
    return np.sum(np.abs(x) ** 2)


@case(pt(3, cplx=True))
def complex_real_imag(x):
    return np.sum(np.real(x) ** 2 - np.imag(x) * np.real(x)) + np.sum(x.real * x.imag)


@case(pt(3, cplx=True))
def complex_exp_abs(x):
    return np.sum(np.abs(np.exp(1j * x) + x**2))


@case(pt(3, cplx=True))
def complex_conj_quad(x):
    return np.real(np.conj(x) @ (A33 + 1j * A33.T) @ x)


@case(pt(3, cplx=True))
def complex_angle(x):
    return np.sum(np.angle(x + 2))


@case(pt(4, cplx=True))
def complex_fft(x):
    return np.sum(np.abs(np.fft.ifft(x * np.arange(4.0))) ** 2)


@case(pt(2, 2, cplx=True))
def complex_solve(x):
    A = x + 3 * np.eye(2)
    return np.sum(np.abs(np.linalg.solve(A, np.array([1.0, 1j]))) ** 2)


@case(pt(3, 3, cplx=True))
def complex_hermitian_eigh(x):
    H = x + np.conj(x.T) + np.diag([0.0, 3.0, 6.0])
    w, V = np.linalg.eigh(H)
    return np.sum(w**2) + np.sum(np.abs(V[1]) ** 2 * w)
