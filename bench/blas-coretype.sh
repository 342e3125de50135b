# Sourced by the bench scripts: the OpenBLAS kernel family for this CPU. The environment pins Haswell kernels, which
# halve a peer's speed on an AVX-512 machine; SkylakeX kernels on a CPU without AVX-512 die of an illegal instruction.
# So: SkylakeX where /proc/cpuinfo lists avx512f, Zen (AVX2 kernels) elsewhere. VECREC_BLAS_CORETYPE overrides the choice.
if [[ -z "${VECREC_BLAS_CORETYPE:-}" ]]; then
  if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then VECREC_BLAS_CORETYPE=SkylakeX; else VECREC_BLAS_CORETYPE=Zen; fi
fi
blas_coretype="$VECREC_BLAS_CORETYPE"
