//! A loaded data set as compact as its format allows ([`LoadedRows`]), expanded into `f64`
//! features one row at a time. The protocol splits it by row numbers, fits the scaling on the
//! training rows and writes the scaled parts ([`LoadedRows::into_parts`]), freeing the loaded rows
//! as it goes, so the whole expanded matrix never exists. KDDCUP's rows take 38 numbers and 3
//! category codes encoded, 118 numbers expanded (one-hot).

use std::sync::Arc;

use ndarray::Array2;

use crate::encoded::{EncodedFeatures, EncodedLayout, ScaledLayout};
use crate::error::{DataError, Result};
use crate::matrix::{Features, Precision};
use crate::scaling::{Scaler, ScalerFit, ScalingKind};
use crate::value::FeatureValue;
use crate::Dataset;

/// Rows per chunk of encoded rows: each chunk is freed once [`LoadedRows::into_parts`] has passed
/// it.
const CHUNK_ROWS: usize = 8192;

/// A loaded data set: the rows (dense or encoded), their labels (1 = anomaly) and the names of
/// the expanded feature columns.
#[derive(Debug)]
pub struct LoadedRows {
    pub columns: Vec<String>,
    pub labels: Option<Vec<u8>>,
    store: Store,
}

#[derive(Debug)]
enum Store {
    Dense(Array2<f64>),
    Encoded(EncodedRows),
}

/// Rows held as numbers and category codes, in chunks of [`CHUNK_ROWS`].
#[derive(Debug)]
pub struct EncodedRows {
    layout: EncodedLayout,
    n_rows: usize,
    chunks: Vec<Chunk>,
}

#[derive(Debug)]
struct Chunk {
    numbers: MappedNumbers,
    codes: Vec<u32>,
}

/// `f64` values in pages mapped for them alone: dropping them unmaps the pages, so the process's
/// resident memory falls at once, whatever the global allocator keeps for reuse (mimalloc keeps
/// freed pages for a while: the parts would fill beside pages that are free but still resident).
#[derive(Debug)]
struct MappedNumbers {
    map: Option<memmap2::MmapMut>,
    len: usize,
}

impl MappedNumbers {
    /// Room for `capacity` values.
    fn with_capacity(capacity: usize) -> std::io::Result<Self> {
        let bytes = capacity * std::mem::size_of::<f64>();
        let map = (bytes > 0)
            .then(|| memmap2::MmapMut::map_anon(bytes))
            .transpose()?;
        Ok(MappedNumbers { map, len: 0 })
    }

    /// Appends `values`, which must fit in the capacity.
    fn extend_from_slice(&mut self, values: &[f64]) {
        let end = self.len + values.len();
        if let Some(map) = &mut self.map {
            let all: &mut [f64] = bytemuck::cast_slice_mut(&mut map[..]);
            all[self.len..end].copy_from_slice(values);
        }
        self.len = end;
    }

    fn as_slice(&self) -> &[f64] {
        match &self.map {
            Some(map) => &bytemuck::cast_slice(&map[..])[..self.len],
            None => &[],
        }
    }
}

/// A part being written: scaled rows appended one at a time.
trait Part {
    /// Appends a scaled, expanded row; `codes` are its category codes (encoded rows).
    fn append(&mut self, row: &[f64], codes: &[u32]);
}

/// A dense part in `E`.
struct DensePart<E> {
    values: Vec<E>,
    width: usize,
}

impl<E: FeatureValue> DensePart<E> {
    fn new(rows: usize, width: usize) -> Self {
        DensePart {
            values: Vec::with_capacity(rows * width),
            width,
        }
    }

    fn into_array(self) -> Array2<E> {
        let rows = self.values.len().checked_div(self.width).unwrap_or(0);
        Array2::from_shape_vec((rows, self.width), self.values).expect("whole rows")
    }
}

impl<E: FeatureValue> Part for DensePart<E> {
    fn append(&mut self, row: &[f64], _codes: &[u32]) {
        self.values.extend(row.iter().map(|&v| E::from_f64(v)));
    }
}

impl<E: FeatureValue> Part for EncodedFeatures<E> {
    fn append(&mut self, row: &[f64], codes: &[u32]) {
        self.push_scaled(row, codes);
    }
}

/// Appends scaled rows to the two parts that hold them.
struct PartWriter<'a, P> {
    parts: [&'a [usize]; 2],
    cursor: [usize; 2],
    out: [P; 2],
    scaler: &'a Scaler,
}

impl<P: Part> PartWriter<'_, P> {
    /// Whether row `i` belongs to a part (rows come in ascending order).
    fn wants(&self, i: usize) -> bool {
        (0..2).any(|p| self.parts[p].get(self.cursor[p]) == Some(&i))
    }

    /// Scales row `i` (expanded in `row`, with its `codes`) and appends it to the parts that
    /// hold it.
    fn take(&mut self, i: usize, row: &mut [f64], codes: &[u32]) -> Result<()> {
        self.scaler.transform_row(row, i + 1)?;
        for p in 0..2 {
            if self.parts[p].get(self.cursor[p]) == Some(&i) {
                self.out[p].append(row, codes);
                self.cursor[p] += 1;
            }
        }
        Ok(())
    }
}

/// Collects encoded rows while a file is read; the layout comes at the end, once every category
/// is known ([`EncodedRowsBuilder::finish`]).
#[derive(Debug)]
pub struct EncodedRowsBuilder {
    n_numbers: usize,
    n_codes: usize,
    n_rows: usize,
    chunks: Vec<Chunk>,
}

impl EncodedRowsBuilder {
    /// Rows of `n_numbers` numbers and `n_codes` category codes.
    pub fn new(n_numbers: usize, n_codes: usize) -> Self {
        EncodedRowsBuilder {
            n_numbers,
            n_codes,
            n_rows: 0,
            chunks: Vec::new(),
        }
    }

    /// Appends a row of `n_numbers` numbers and `n_codes` codes. Errors when the memory for a
    /// new chunk cannot be mapped, or for a row of another shape.
    pub fn push(&mut self, numbers: &[f64], codes: &[u32]) -> std::io::Result<()> {
        if (numbers.len(), codes.len()) != (self.n_numbers, self.n_codes) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "a row of {} numbers and {} codes among rows of {} and {}",
                    numbers.len(),
                    codes.len(),
                    self.n_numbers,
                    self.n_codes
                ),
            ));
        }
        if self.n_rows.is_multiple_of(CHUNK_ROWS) {
            self.chunks.push(Chunk {
                numbers: MappedNumbers::with_capacity(CHUNK_ROWS * self.n_numbers)?,
                codes: Vec::with_capacity(CHUNK_ROWS * self.n_codes),
            });
        }
        let chunk = self.chunks.last_mut().expect("a chunk was just pushed");
        chunk.numbers.extend_from_slice(numbers);
        chunk.codes.extend_from_slice(codes);
        self.n_rows += 1;
        Ok(())
    }

    /// The rows, expanded as `layout` says. Errors when the layout is of rows of another
    /// shape, or a code has no rank.
    pub fn finish(self, layout: EncodedLayout) -> Result<EncodedRows> {
        if (layout.n_numbers(), layout.n_codes()) != (self.n_numbers, self.n_codes) {
            return Err(DataError::InvalidArgument(format!(
                "encoded rows of {} numbers and {} codes, a layout of {} and {}",
                self.n_numbers,
                self.n_codes,
                layout.n_numbers(),
                layout.n_codes()
            )));
        }
        for chunk in &self.chunks {
            layout.check_codes(&chunk.codes)?;
        }
        Ok(EncodedRows {
            layout,
            n_rows: self.n_rows,
            chunks: self.chunks,
        })
    }
}

impl EncodedRows {
    /// The number of rows in chunk `c`.
    fn chunk_rows(&self, c: usize) -> usize {
        CHUNK_ROWS.min(self.n_rows - c * CHUNK_ROWS)
    }

    /// The numbers and codes of row `r` of `chunk`.
    fn fields<'c>(&self, chunk: &'c Chunk, r: usize) -> (&'c [f64], &'c [u32]) {
        let (n, k) = (self.layout.n_numbers(), self.layout.n_codes());
        (
            &chunk.numbers.as_slice()[r * n..(r + 1) * n],
            &chunk.codes[r * k..(r + 1) * k],
        )
    }

    /// Writes row `r` of `chunk` expanded into `out` (`width` values).
    fn expand(&self, chunk: &Chunk, r: usize, out: &mut [f64]) {
        let (numbers, codes) = self.fields(chunk, r);
        self.layout.expand(numbers, codes, out);
    }

    /// The rows at `rows` (ascending), in that order.
    fn select(&self, rows: &[usize]) -> std::io::Result<EncodedRows> {
        let mut builder = EncodedRowsBuilder::new(self.layout.n_numbers(), self.layout.n_codes());
        for &i in rows {
            let (numbers, codes) = self.fields(&self.chunks[i / CHUNK_ROWS], i % CHUNK_ROWS);
            builder.push(numbers, codes)?;
        }
        Ok(EncodedRows {
            layout: self.layout.clone(),
            n_rows: builder.n_rows,
            chunks: builder.chunks,
        })
    }
}

/// Errors unless `rows` ascend strictly and stay below `n`.
fn check_rows(rows: &[usize], n: usize) -> Result<()> {
    if rows.windows(2).any(|w| w[0] >= w[1]) || rows.last().is_some_and(|&last| last >= n) {
        return Err(DataError::InvalidArgument(format!(
            "row numbers must ascend and stay below {n}"
        )));
    }
    Ok(())
}

impl LoadedRows {
    /// Rows held as one dense matrix (every format but KDDCUP's).
    pub fn dense(ds: Dataset) -> Self {
        LoadedRows {
            columns: ds.columns,
            labels: ds.labels,
            store: Store::Dense(ds.features),
        }
    }

    /// Encoded rows with their labels and expanded column names.
    pub fn encoded(
        rows: EncodedRows,
        labels: Option<Vec<u8>>,
        columns: Vec<String>,
    ) -> Result<Self> {
        if columns.len() != rows.layout.width() {
            return Err(DataError::InvalidArgument(format!(
                "{} column names for {} expanded columns",
                columns.len(),
                rows.layout.width()
            )));
        }
        if let Some(labels) = &labels {
            if labels.len() != rows.n_rows {
                return Err(DataError::InvalidArgument(format!(
                    "{} labels for {} rows",
                    labels.len(),
                    rows.n_rows
                )));
            }
        }
        Ok(LoadedRows {
            columns,
            labels,
            store: Store::Encoded(rows),
        })
    }

    pub fn n_rows(&self) -> usize {
        match &self.store {
            Store::Dense(x) => x.nrows(),
            Store::Encoded(e) => e.n_rows,
        }
    }

    pub fn n_features(&self) -> usize {
        self.columns.len()
    }

    /// Keeps the rows at `rows` (ascending), in that order, with `labels` for them.
    pub fn select(self, rows: &[usize], labels: Option<Vec<u8>>) -> Result<Self> {
        check_rows(rows, self.n_rows())?;
        if labels.as_ref().is_some_and(|l| l.len() != rows.len()) {
            return Err(DataError::InvalidArgument(format!(
                "labels for {} rows, {} rows kept",
                labels.map_or(0, |l| l.len()),
                rows.len()
            )));
        }
        let store = match self.store {
            Store::Dense(x) => Store::Dense(x.select(ndarray::Axis(0), rows)),
            Store::Encoded(e) => Store::Encoded(e.select(rows).map_err(|error| {
                DataError::InvalidArgument(format!("selecting {} rows: {error}", rows.len()))
            })?),
        };
        Ok(LoadedRows {
            columns: self.columns,
            labels,
            store,
        })
    }

    /// The scaler of `kind` fitted on the rows at `rows` (ascending), one at a time.
    pub fn fit_scaler(&self, kind: ScalingKind, rows: &[usize]) -> Result<Scaler> {
        ScalerFit::run(kind, self.columns.clone(), |fit| {
            self.for_each_row(rows, |row| fit.add(row))
        })
    }

    /// Calls `visit` with each row at `rows` (ascending), expanded, in that order.
    pub fn for_each_row(
        &self,
        rows: &[usize],
        mut visit: impl FnMut(&[f64]) -> Result<()>,
    ) -> Result<()> {
        check_rows(rows, self.n_rows())?;
        match &self.store {
            Store::Dense(x) => {
                let mut buffer = vec![0.0; x.ncols()];
                for &i in rows {
                    let row = x.row(i);
                    match row.as_slice() {
                        Some(values) => visit(values)?,
                        None => {
                            buffer.iter_mut().zip(row).for_each(|(b, v)| *b = *v);
                            visit(&buffer)?;
                        }
                    }
                }
            }
            Store::Encoded(e) => {
                let mut buffer = vec![0.0; e.layout.width()];
                for &i in rows {
                    e.expand(&e.chunks[i / CHUNK_ROWS], i % CHUNK_ROWS, &mut buffer);
                    visit(&buffer)?;
                }
            }
        }
        Ok(())
    }

    /// The two parts at `parts` (each ascending; a row may be in both), scaled by `scaler`
    /// (errors name the row's 1-based number here) and stored in `precision`: encoded rows stay
    /// encoded ([`Features::Encoded`] in `f32`, [`Features::EncodedF64`] in `f64`, the numbers
    /// scaled), dense rows are stored dense.
    /// Encoded rows are freed chunk by chunk as the parts fill, so the loaded rows and the parts
    /// never coexist whole.
    pub fn into_parts(
        self,
        parts: [&[usize]; 2],
        scaler: &Scaler,
        precision: Precision,
    ) -> Result<[Features; 2]> {
        let d = self.n_features();
        scaler.check_width(d)?;
        Ok(match (precision, &self.store) {
            (Precision::F32, Store::Encoded(e)) => {
                let scaled = Arc::new(ScaledLayout::new(e.layout.clone(), scaler));
                self.fill(parts, scaler, |rows| {
                    EncodedFeatures::with_capacity(scaled.clone(), rows)
                })?
                .map(Features::Encoded)
            }
            (Precision::F32, _) => {
                let parts = self.fill(parts, scaler, |rows| DensePart::<f32>::new(rows, d))?;
                parts.map(|p| Features::F32(p.into_array()))
            }
            (Precision::F64, Store::Encoded(e)) => {
                let scaled = Arc::new(ScaledLayout::new(e.layout.clone(), scaler));
                self.fill(parts, scaler, |rows| {
                    EncodedFeatures::with_capacity(scaled.clone(), rows)
                })?
                .map(Features::EncodedF64)
            }
            (Precision::F64, _) => {
                let parts = self.fill(parts, scaler, |rows| DensePart::<f64>::new(rows, d))?;
                parts.map(|p| Features::F64(p.into_array()))
            }
        })
    }

    fn fill<P: Part>(
        self,
        parts: [&[usize]; 2],
        scaler: &Scaler,
        part: impl Fn(usize) -> P,
    ) -> Result<[P; 2]> {
        let n = self.n_rows();
        for rows in parts {
            check_rows(rows, n)?;
        }
        let mut writer = PartWriter {
            parts,
            cursor: [0; 2],
            out: parts.map(|rows| part(rows.len())),
            scaler,
        };
        let mut buffer = vec![0.0; self.n_features()];
        match self.store {
            Store::Dense(x) => {
                for (i, row) in x.rows().into_iter().enumerate() {
                    if writer.wants(i) {
                        buffer.iter_mut().zip(row).for_each(|(b, v)| *b = *v);
                        writer.take(i, &mut buffer, &[])?;
                    }
                }
            }
            Store::Encoded(mut e) => {
                let chunks = std::mem::take(&mut e.chunks);
                for (c, chunk) in chunks.into_iter().enumerate() {
                    let first = c * CHUNK_ROWS;
                    for r in 0..e.chunk_rows(c) {
                        if writer.wants(first + r) {
                            let (numbers, codes) = e.fields(&chunk, r);
                            e.layout.expand(numbers, codes, &mut buffer);
                            writer.take(first + r, &mut buffer, codes)?;
                        }
                    }
                    // `chunk` is dropped here: its rows are in the parts.
                }
            }
        }
        Ok(writer.out)
    }

    /// The rows in order, [`CHUNK_ROWS`] at a time, each chunk expanded into a [`Dataset`] with
    /// its labels: encoded rows are freed as their chunk is passed, so the whole expanded matrix
    /// never exists (`dagmm score` on KDDCUP's 494,021 rows of 118 features).
    pub fn into_chunks(self) -> Box<dyn Iterator<Item = Result<Dataset>> + Send> {
        let n = self.n_rows();
        let LoadedRows {
            columns,
            labels,
            store,
        } = self;
        let part = move |first: usize, rows: usize| {
            labels.as_ref().map(|l| l[first..first + rows].to_vec())
        };
        match store {
            Store::Dense(x) => Box::new((0..n).step_by(CHUNK_ROWS).map(move |first| {
                let rows = CHUNK_ROWS.min(n - first);
                let features = x.slice(ndarray::s![first..first + rows, ..]).to_owned();
                Dataset::new(features, part(first, rows), columns.clone())
            })),
            Store::Encoded(mut e) => {
                let chunks = std::mem::take(&mut e.chunks);
                Box::new(chunks.into_iter().enumerate().map(move |(c, chunk)| {
                    let rows = e.chunk_rows(c);
                    let mut features = Array2::zeros((rows, e.layout.width()));
                    for (r, mut row) in features.rows_mut().into_iter().enumerate() {
                        e.expand(&chunk, r, row.as_slice_mut().expect("standard layout"));
                    }
                    Dataset::new(features, part(c * CHUNK_ROWS, rows), columns.clone())
                }))
            }
        }
    }

    /// The whole expanded matrix as a [`Dataset`].
    pub fn into_dataset(self) -> Result<Dataset> {
        let features = match self.store {
            Store::Dense(x) => x,
            Store::Encoded(e) => {
                let mut x = Array2::zeros((e.n_rows, e.layout.width()));
                let mut rows = x.rows_mut().into_iter();
                for (c, chunk) in e.chunks.iter().enumerate() {
                    for r in 0..e.chunk_rows(c) {
                        let mut row = rows.next().expect("one row per encoded row");
                        e.expand(chunk, r, row.as_slice_mut().expect("standard layout"));
                    }
                }
                x
            }
        };
        Dataset::new(features, self.labels, self.columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoded::EncodedField;

    /// Rows of 2 numbers and 1 category of 3 values, expanded as
    /// `[number 0, cat=a, cat=b, cat=c, number 1]`; `n` rows, row `i` holding `i`, `-2i` and
    /// category `i % 3` (whose rank reverses the code: code 0 is column `cat=c`).
    fn encoded(n: usize) -> LoadedRows {
        let mut builder = EncodedRowsBuilder::new(2, 1);
        for i in 0..n {
            builder
                .push(&[i as f64, -2.0 * i as f64], &[(i % 3) as u32])
                .unwrap();
        }
        let layout = EncodedLayout::new(
            vec![
                EncodedField::Number { slot: 0, column: 0 },
                EncodedField::Category {
                    group: 0,
                    first_column: 1,
                },
                EncodedField::Number { slot: 1, column: 4 },
            ],
            vec![vec![2, 1, 0]],
            5,
            2,
        )
        .unwrap();
        let columns = ["x", "cat=a", "cat=b", "cat=c", "y"]
            .map(String::from)
            .to_vec();
        let labels = (0..n).map(|i| u8::from(i % 7 == 0)).collect();
        LoadedRows::encoded(builder.finish(layout).unwrap(), Some(labels), columns).unwrap()
    }

    fn expected_row(i: usize) -> [f64; 5] {
        let mut row = [i as f64, 0.0, 0.0, 0.0, -2.0 * i as f64];
        row[1 + 2 - i % 3] = 1.0;
        row
    }

    fn scaler_of(rows: &LoadedRows, train: &[usize], kind: ScalingKind) -> Scaler {
        rows.fit_scaler(kind, train).unwrap()
    }

    /// Chunk by chunk, the rows and labels are those of the whole expanded matrix, in order.
    #[test]
    fn chunks_put_together_are_the_whole_data_set() {
        let n = 2 * CHUNK_ROWS + 5;
        let whole = encoded(n).into_dataset().unwrap();
        let dense = LoadedRows::dense(whole.clone());
        for rows in [encoded(n), dense] {
            let chunks: Vec<Dataset> = rows.into_chunks().collect::<Result<_>>().unwrap();
            assert_eq!(
                chunks.iter().map(Dataset::n_rows).collect::<Vec<_>>(),
                [CHUNK_ROWS, CHUNK_ROWS, 5]
            );
            let views: Vec<_> = chunks.iter().map(|c| c.features.view()).collect();
            assert_eq!(
                ndarray::concatenate(ndarray::Axis(0), &views).unwrap(),
                whole.features
            );
            let labels: Vec<u8> = chunks
                .iter()
                .flat_map(|c| c.labels.clone().unwrap())
                .collect();
            assert_eq!(Some(labels), whole.labels);
            assert!(chunks.iter().all(|c| c.columns == whole.columns));
        }
    }

    #[test]
    fn encoded_rows_expand_across_chunks() {
        let n = 2 * CHUNK_ROWS + 5;
        let ds = encoded(n).into_dataset().unwrap();
        assert_eq!(ds.features.dim(), (n, 5));
        for i in [0, 1, 2, CHUNK_ROWS - 1, CHUNK_ROWS, 2 * CHUNK_ROWS + 4] {
            assert_eq!(ds.features.row(i).to_vec(), expected_row(i), "row {i}");
        }
        let rows = encoded(n);
        let picked = [3, CHUNK_ROWS + 1, 2 * CHUNK_ROWS + 2];
        let mut seen = Vec::new();
        rows.for_each_row(&picked, |row| {
            seen.push(row.to_vec());
            Ok(())
        })
        .unwrap();
        let expected: Vec<Vec<f64>> = picked.iter().map(|&i| expected_row(i).to_vec()).collect();
        assert_eq!(seen, expected);
        let kept = rows.select(&picked, Some(vec![1, 0, 1])).unwrap();
        assert_eq!(kept.labels, Some(vec![1, 0, 1]));
        assert_eq!(
            kept.into_dataset()
                .unwrap()
                .features
                .rows()
                .into_iter()
                .map(|r| r.to_vec())
                .collect::<Vec<_>>(),
            expected
        );
    }

    #[test]
    fn parts_equal_the_dense_scaled_rows_in_every_storage() {
        let n = CHUNK_ROWS + 100;
        let train: Vec<usize> = (0..n).filter(|i| i % 2 == 0 && i % 3 != 2).collect();
        // A row in both parts, and rows in neither (odd rows of category 2).
        let test: Vec<usize> = (0..n).filter(|i| i % 2 == 1 || *i == 4).collect();
        for kind in [ScalingKind::MinMax, ScalingKind::ZScore] {
            let dense = encoded(n).into_dataset().unwrap();
            let scaler = scaler_of(&encoded(n), &train, kind);
            let reference = Scaler::fit(kind, dense.select_rows(&train).features.view()).unwrap();
            assert_eq!(
                scaler, reference,
                "{kind:?}: the row-by-row fit is the matrix fit"
            );
            let expected = [&train, &test].map(|rows| {
                scaler
                    .transform(dense.select_rows(rows).features.view())
                    .unwrap()
            });
            // Category 2 never trains, so `cat=a` is constant there: scale 1, offset 0.
            let [a, b] = encoded(n)
                .into_parts([&train, &test], &scaler, Precision::F32)
                .unwrap();
            for (part, want) in [a, b].iter().zip(&expected) {
                let Features::Encoded(e) = part else {
                    panic!("encoded rows in f32 stay encoded")
                };
                assert_eq!(e.expand(), want.mapv(|v| v as f32), "{kind:?}");
            }
            let [a, b] = encoded(n)
                .into_parts([&train, &test], &scaler, Precision::F64)
                .unwrap();
            for (part, want) in [a, b].iter().zip(&expected) {
                let Features::EncodedF64(e) = part else {
                    panic!("encoded rows in f64 stay encoded")
                };
                assert_eq!(&e.expand(), want, "{kind:?}: the f64 rows bit for bit");
            }
            let [a, b] = LoadedRows::dense(encoded(n).into_dataset().unwrap())
                .into_parts([&train, &test], &scaler, Precision::F64)
                .unwrap();
            assert_eq!([a, b], expected.clone().map(Features::F64), "{kind:?}");
            let [a, b] = LoadedRows::dense(encoded(n).into_dataset().unwrap())
                .into_parts([&train, &test], &scaler, Precision::F32)
                .unwrap();
            assert_eq!(
                [a, b],
                expected.map(|x| Features::F32(x.mapv(|v| v as f32)))
            );
        }
    }

    #[test]
    fn unordered_rows_and_values_scaling_past_f64_are_errors() {
        let scaler = scaler_of(&encoded(10), &[0, 1, 2], ScalingKind::MinMax);
        let err = encoded(10)
            .into_parts([&[2, 1], &[3]], &scaler, Precision::F32)
            .unwrap_err();
        assert!(err.to_string().contains("ascend"), "{err}");
        assert!(encoded(10).for_each_row(&[10], |_| Ok(())).is_err());
        // Trained on a spread of 1e-308, a row far away overflows: the error names it.
        let tiny = Scaler {
            kind: ScalingKind::MinMax,
            offset: vec![0.0; 5],
            scale: vec![1e-308, 1.0, 1.0, 1.0, 1.0],
        };
        let err = encoded(10)
            .into_parts([&[0], &[5]], &tiny, Precision::F32)
            .unwrap_err();
        assert!(err.to_string().starts_with("row 6, column 0"), "{err}");
    }
}
