//! Rows kept as their format encodes them: numbers, and category codes that stand for one-hot
//! groups of columns. [`EncodedLayout`] says where each field goes among the expanded columns;
//! [`EncodedFeatures`] is a scaled matrix stored that way (KDDCUP: 38 numbers and 3 codes per row
//! instead of 118 values), expanded a row at a time by whoever reads it.

use std::sync::Arc;

use ndarray::Array2;

use crate::error::{DataError, Result};
use crate::scaling::Scaler;
use crate::value::FeatureValue;

/// Where one encoded field of a row goes among the expanded columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodedField {
    /// The row's `slot`-th number, written to `column`.
    Number { slot: usize, column: usize },
    /// The row's `group`-th category code: a 1 in the group's columns, which start at
    /// `first_column`, at the code's rank.
    Category { group: usize, first_column: usize },
}

/// The expanded columns of encoded rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedLayout {
    fields: Vec<EncodedField>,
    /// `ranks[g][code]`: the column of category `code` of group `g`, counted from the group's
    /// first column.
    ranks: Vec<Vec<usize>>,
    width: usize,
    n_numbers: usize,
}

impl EncodedLayout {
    /// Rows of `n_numbers` numbers and `ranks.len()` codes, expanded into `width` columns as
    /// `fields` say. Errors when a field points outside the row or the columns.
    pub fn new(
        fields: Vec<EncodedField>,
        ranks: Vec<Vec<usize>>,
        width: usize,
        n_numbers: usize,
    ) -> Result<Self> {
        let bad = |what: String| DataError::InvalidArgument(format!("encoded rows: {what}"));
        for field in &fields {
            match *field {
                EncodedField::Number { slot, column } => {
                    if slot >= n_numbers || column >= width {
                        return Err(bad(format!("number {slot} → column {column} of {width}")));
                    }
                }
                EncodedField::Category {
                    group,
                    first_column,
                } => {
                    let ranks = ranks
                        .get(group)
                        .ok_or_else(|| bad(format!("no category group {group}")))?;
                    if ranks.iter().any(|r| first_column + r >= width) {
                        return Err(bad(format!("group {group} runs past column {width}")));
                    }
                }
            }
        }
        Ok(EncodedLayout {
            fields,
            ranks,
            width,
            n_numbers,
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn n_numbers(&self) -> usize {
        self.n_numbers
    }

    pub fn n_codes(&self) -> usize {
        self.ranks.len()
    }

    /// Errors unless every code has a rank in its group.
    pub fn check_codes(&self, codes: &[u32]) -> Result<()> {
        let groups = self.n_codes().max(1);
        match codes
            .iter()
            .enumerate()
            .find(|&(k, &code)| code as usize >= self.ranks[k % groups].len())
        {
            Some((k, code)) => Err(DataError::InvalidArgument(format!(
                "encoded rows: code {code} of group {} has no rank",
                k % groups
            ))),
            None => Ok(()),
        }
    }

    /// The expanded column of each code of a row.
    fn category_columns<'a>(&'a self, codes: &'a [u32]) -> impl Iterator<Item = usize> + 'a {
        self.fields.iter().filter_map(move |field| match *field {
            EncodedField::Category {
                group,
                first_column,
            } => Some(first_column + self.ranks[group][codes[group] as usize]),
            EncodedField::Number { .. } => None,
        })
    }

    /// `(slot, column)` of every number of a row.
    fn number_columns(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.fields.iter().filter_map(|field| match *field {
            EncodedField::Number { slot, column } => Some((slot, column)),
            EncodedField::Category { .. } => None,
        })
    }

    /// A raw row expanded into `out` (`width` values): its numbers, and 1 and 0 in the one-hot
    /// columns.
    pub fn expand(&self, numbers: &[f64], codes: &[u32], out: &mut [f64]) {
        out.fill(0.0);
        for (slot, column) in self.number_columns() {
            out[column] = numbers[slot];
        }
        for column in self.category_columns(codes) {
            out[column] = 1.0;
        }
    }
}

/// Scaled rows stored encoded, in `E` (`f32` for the networks, `f64` for EM): each number scaled
/// in `f64` and rounded once to `E`, each one-hot column holding the scaled value of 0 or of 1.
/// Expanded, a row is bit for bit the row that scaling the expanded matrix in `f64` and rounding
/// it to `E` would give.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedFeatures<E: FeatureValue = f32> {
    scaled: Arc<ScaledLayout<E>>,
    n_rows: usize,
    numbers: Vec<E>,
    codes: Vec<u32>,
}

/// The layout with each column's scaled 0 (`absent`) and scaled 1 (`present`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScaledLayout<E: FeatureValue = f32> {
    layout: EncodedLayout,
    absent: Vec<E>,
    present: Vec<E>,
}

impl<E: FeatureValue> ScaledLayout<E> {
    /// Each one-hot column's 0 and 1 under `scaler` (fitted on the expanded columns), computed
    /// as [`Scaler::transform_row`] would and rounded to `E`. A one-hot column's offset and
    /// scale lie in [0, 1] and (0, 1], so both values are finite.
    pub(crate) fn new(layout: EncodedLayout, scaler: &Scaler) -> Self {
        let mut absent = vec![E::from_f64(0.0); layout.width];
        let mut present = vec![E::from_f64(0.0); layout.width];
        for field in &layout.fields {
            if let EncodedField::Category {
                group,
                first_column,
            } = *field
            {
                for c in first_column..first_column + layout.ranks[group].len() {
                    let (o, s) = (scaler.offset[c], scaler.scale[c]);
                    absent[c] = E::from_f64((0.0 - o) / s);
                    present[c] = E::from_f64((1.0 - o) / s);
                }
            }
        }
        ScaledLayout {
            layout,
            absent,
            present,
        }
    }
}

impl<E: FeatureValue> EncodedFeatures<E> {
    /// An empty matrix of `scaled`'s layout, with room for `rows` rows.
    pub(crate) fn with_capacity(scaled: Arc<ScaledLayout<E>>, rows: usize) -> Self {
        let (n_numbers, n_codes) = (scaled.layout.n_numbers, scaled.layout.n_codes());
        EncodedFeatures {
            scaled,
            n_rows: 0,
            numbers: Vec::with_capacity(rows * n_numbers),
            codes: Vec::with_capacity(rows * n_codes),
        }
    }

    /// Appends a row from its scaled expanded values (`ncols`) and its codes: the numbers are
    /// taken from their columns and rounded to `E`.
    pub(crate) fn push_scaled(&mut self, row: &[f64], codes: &[u32]) {
        let layout = &self.scaled.layout;
        let start = self.numbers.len();
        self.numbers
            .resize(start + layout.n_numbers, E::from_f64(0.0));
        for (slot, column) in layout.number_columns() {
            self.numbers[start + slot] = E::from_f64(row[column]);
        }
        self.codes.extend_from_slice(codes);
        self.n_rows += 1;
    }

    pub fn nrows(&self) -> usize {
        self.n_rows
    }

    pub fn ncols(&self) -> usize {
        self.scaled.layout.width
    }

    /// Row `i` expanded into `out` (`ncols` values).
    pub fn row_into(&self, i: usize, out: &mut [E]) {
        let layout = &self.scaled.layout;
        let (n_numbers, n_codes) = (layout.n_numbers, layout.n_codes());
        let numbers = &self.numbers[i * n_numbers..(i + 1) * n_numbers];
        let codes = &self.codes[i * n_codes..(i + 1) * n_codes];
        out.copy_from_slice(&self.scaled.absent);
        for (slot, column) in layout.number_columns() {
            out[column] = numbers[slot];
        }
        for column in layout.category_columns(codes) {
            out[column] = self.scaled.present[column];
        }
    }

    /// Every row expanded.
    pub fn expand(&self) -> Array2<E> {
        let mut x = Array2::from_elem((self.n_rows, self.ncols()), E::from_f64(0.0));
        for (i, mut row) in x.rows_mut().into_iter().enumerate() {
            self.row_into(i, row.as_slice_mut().expect("standard layout"));
        }
        x
    }
}
