//! Moving rows between the host (`ndarray`, f64) and the device (f32 tensors), one transfer each.

use burn::tensor::{Device, Tensor, TensorData};

/// Upload the rows `rows` of an f64 matrix, in that order, as an f32 `[len, d]` tensor: a range
/// for a contiguous batch (scoring), a slice of a permutation for a shuffled one (training).
pub(crate) fn upload_rows(
    x: &ndarray::ArrayView2<f64>,
    rows: impl ExactSizeIterator<Item = usize>,
    device: &Device,
) -> Tensor<2> {
    let (n, d) = (rows.len(), x.ncols());
    let mut v: Vec<f32> = Vec::with_capacity(n * d);
    for i in rows {
        v.extend(x.row(i).iter().map(|v| *v as f32));
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
