#!/usr/bin/env bash
# The device-tool side of experiments/gpu_session.py: packages and data for a bare accelerator machine, then the
# time-boxed session. Run from the repository root there, with .whl, .whl_fallback and device_data carried:
#   bash experiments/gpu_session.sh 560
# .whl: grain, array_record, ml_collections, portpicker (cp312 wheels, not in the machine's image);
# .whl_fallback: the flax / optax / orbax-checkpoint versions this project pins, used only if the image's fail
# the import check; device_data: a copy of ../shared/data's T91, BSDS500_test and Set5 (the machine has no
# ../shared), named the data root by $JAXSHARP_DATA (jaxsharp/paths.py). Making the three here (ignored through .git/info/exclude):
#   w='python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp
#      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64'
#   $w -d .whl grain==0.2.18 array_record==0.8.6 ml_collections==1.1.0 portpicker
#   $w -d .whl_fallback flax==0.12.8 optax==0.2.8 orbax-checkpoint==0.12.8
#   mkdir -p device_data/train device_data/benchmarks/Set5 && cp -r ../shared/data/train/{T91,BSDS500_test} \
#     device_data/train/ && cp -r ../shared/data/benchmarks/Set5/HR device_data/benchmarks/Set5/
#   printf '/.whl/\n/.whl_fallback/\n/device_data/\n' >> .git/info/exclude
set -u
budget=${1:-560}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || exit 1
export PYTHONPATH=/tmp/site
check='import jax, flax, optax, orbax.checkpoint as ocp; from flax import nnx; nnx.List; ocp.CheckpointManager;
jax.make_mesh((jax.device_count(),), ("data",), axis_types=(jax.sharding.AxisType.Auto,)); import grain, ml_collections'
if ! python3 -c "$check"; then
  echo "image packages failed the check: installing the pinned flax / optax / orbax-checkpoint"
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    .whl_fallback/*.whl || exit 1
  python3 -c "$check" || exit 1
fi
export JAXSHARP_DATA="$PWD/device_data"  # the data root of every config and command (jaxsharp/paths.py)
nvidia-smi -L
python3 experiments/gpu_session.py --out "${OUT:-runs/gpu_session/out}" --budget "$budget"
