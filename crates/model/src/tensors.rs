//! Moving rows between the host (`ndarray`, f64 or f32) and the device (f32 tensors), one
//! transfer each.

use burn::tensor::{Device, Tensor, TensorData};
use dagmm_data::FeaturesView;

/// Upload the rows `rows` of a matrix, in that order, as an f32 `[len, d]` tensor: a range for a
/// contiguous batch (scoring), a slice of a permutation for a shuffled one (training).
pub(crate) fn upload_rows(
    x: FeaturesView<'_>,
    rows: impl ExactSizeIterator<Item = usize>,
    device: &Device,
) -> Tensor<2> {
    let (n, d) = (rows.len(), x.ncols());
    let mut v: Vec<f32> = vec![0.0; n * d];
    for (out, i) in v.chunks_exact_mut(d.max(1)).zip(rows) {
        x.row_to_f32(i, out);
    }
    Tensor::from_data(TensorData::new(v, [n, d]), device)
}

/// Read a tensor back as f64 (one transfer).
pub(crate) fn read_f64<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .expect("converted to f64")
}

/// Read a tensor back as f32 (one transfer): the values the device holds, exactly.
pub(crate) fn read_f32<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("converted to f32")
}
