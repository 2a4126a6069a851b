//! Parquet inputs: read in record batches, the text / URL / source columns (UTF-8, plain or
//! large) judged row by row like JSON Lines documents, kept and removed rows written as Parquet
//! with the input's schema (removed rows with an `assay_screen` column of reasons as JSON).

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, BooleanArray, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use assay_core::fs::AtomicFile;
use assay_policy::Policy;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;

use crate::doc::Fields;
use crate::input::InputFile;
use crate::sample::Sampler;
use crate::{
    bad_input, io_error, judge, record, FileSummary, Progress, ScreenConfig, ScreenError, Screened,
    Sources,
};

/// A Parquet output written beside its final name and renamed when complete.
struct ParquetOutput {
    path: PathBuf,
    writer: ArrowWriter<BufWriter<AtomicFile>>,
}

impl ParquetOutput {
    fn create(path: PathBuf, schema: Arc<Schema>) -> Result<ParquetOutput, ScreenError> {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        let file = AtomicFile::create(&path).map_err(io_error(&path))?;
        let writer = ArrowWriter::try_new(BufWriter::new(file), schema, None)
            .map_err(|e| parquet_error(&path, e))?;
        Ok(ParquetOutput { path, writer })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), ScreenError> {
        if batch.num_rows() > 0 {
            self.writer
                .write(batch)
                .map_err(|e| parquet_error(&self.path, e))?;
        }
        Ok(())
    }

    /// Writes the footer and what is buffered: the file is complete under its partial name.
    fn close(self) -> Result<AtomicFile, ScreenError> {
        let ParquetOutput { path, writer } = self;
        // into_inner writes the footer (as close does) and hands back the writer.
        let buffered = writer.into_inner().map_err(|e| parquet_error(&path, e))?;
        buffered
            .into_inner()
            .map_err(|e| io_error(&path)(e.into_error()))
    }
}

fn parquet_error(path: &std::path::Path, e: impl std::fmt::Display) -> ScreenError {
    ScreenError::Input {
        path: path.to_path_buf(),
        message: format!("Parquet: {e}"),
    }
}

/// The string value of `column` at `row`, if the column exists, is UTF-8 and the cell is set.
fn cell(batch: &RecordBatch, column: Option<usize>, row: usize) -> Option<&str> {
    let array = batch.column(column?);
    if array.is_null(row) {
        return None;
    }
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => Some(array.as_string::<i64>().value(row)),
        DataType::Utf8View => Some(array.as_string_view().value(row)),
        _ => None,
    }
}

pub(crate) fn screen_parquet(
    policy: &Policy,
    config: &ScreenConfig,
    file: &InputFile,
    opened: File,
    mut summary: FileSummary,
    progress: &Progress,
) -> Result<Screened, ScreenError> {
    let builder = match ParquetRecordBatchReaderBuilder::try_new(opened) {
        Ok(b) => b,
        Err(e) => {
            let message = format!("not a readable Parquet file: {e}");
            if config.strict {
                return Err(ScreenError::Strict {
                    path: file.path.clone(),
                    line: 0,
                    message,
                });
            }
            bad_input(&mut summary, None, "read error", message);
            return Ok(Screened::without_outputs(summary));
        }
    };
    let schema = builder.schema().clone();
    let column = |name: &str| schema.index_of(name).ok();
    let (text_col, url_col) = (column(&config.fields.text), column(&config.fields.url));
    let source_col = config.fields.source.as_deref().and_then(column);
    if text_col.is_none() {
        bad_input(
            &mut summary,
            None,
            "missing text",
            format!("no column {:?}", config.fields.text),
        );
    }
    let mut removed_fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
    removed_fields.push(Arc::new(Field::new("assay_screen", DataType::Utf8, true)));
    let removed_schema = Arc::new(Schema::new(removed_fields));
    let reader = builder
        .with_batch_size(4096)
        .build()
        .map_err(|e| parquet_error(&file.path, e))?;
    let mut kept =
        ParquetOutput::create(config.out.join("kept").join(&file.relative), schema.clone())?;
    let mut removed = ParquetOutput::create(
        config.out.join("removed").join(&file.relative),
        removed_schema.clone(),
    )?;
    let relative = summary.input.clone();
    let mut sampler = Sampler::new(
        config.seed,
        &relative,
        config.sample_size,
        config.batch_docs,
    );
    let mut sources = Sources::default();
    let mut row_no = 0u64;
    for batch in reader {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                let message = format!("cannot read past row {row_no}: {e}");
                if config.strict {
                    return Err(ScreenError::Strict {
                        path: file.path.clone(),
                        line: row_no,
                        message,
                    });
                }
                bad_input(&mut summary, Some(row_no + 1), "read error", message);
                break;
            }
        };
        let mut keep = Vec::with_capacity(batch.num_rows());
        let mut reasons: Vec<Option<String>> = Vec::new();
        for row in 0..batch.num_rows() {
            row_no += 1;
            let fields = Fields {
                text: cell(&batch, text_col, row).map(Into::into),
                url: cell(&batch, url_col, row).map(Into::into),
                source: cell(&batch, source_col, row).map(Into::into),
            };
            let bytes = fields.text.as_deref().map_or(0, str::len) as u64;
            progress.add_bytes(bytes);
            let (hits, host) = judge(policy, &fields, &mut sources);
            let (source, stats) = sources.of(&fields, host.as_deref());
            record(&mut summary, stats, bytes, &hits);
            crate::inspect::observe(&mut summary, policy, row_no, source, &fields, &hits);
            sampler.offer(row_no, source, &fields, &hits);
            keep.push(hits.is_empty());
            if !hits.is_empty() {
                let list: Vec<serde_json::Value> = hits
                    .iter()
                    .map(|(c, h)| serde_json::json!({"category": c, "kind": h.kind.as_str(), "rule": h.rule}))
                    .collect();
                reasons.push(Some(serde_json::json!({ "reasons": list }).to_string()));
            }
        }
        let mask = BooleanArray::from(keep);
        let kept_rows = arrow_select::filter::filter_record_batch(&batch, &mask)
            .map_err(|e| parquet_error(&file.path, e))?;
        kept.write(&kept_rows)?;
        let inverse = arrow_arith::boolean::not(&mask).map_err(|e| parquet_error(&file.path, e))?;
        let removed_rows = arrow_select::filter::filter_record_batch(&batch, &inverse)
            .map_err(|e| parquet_error(&file.path, e))?;
        let mut columns = removed_rows.columns().to_vec();
        columns.push(Arc::new(StringArray::from(reasons)));
        let removed_rows = RecordBatch::try_new(removed_schema.clone(), columns)
            .map_err(|e| parquet_error(&file.path, e))?;
        removed.write(&removed_rows)?;
    }
    if row_no == 0 {
        bad_input(
            &mut summary,
            None,
            "empty file",
            "the file has no rows".to_string(),
        );
    }
    let outputs = vec![kept.close()?, removed.close()?];
    summary.sources = sources.into_counts();
    summary.batches = sampler.finish();
    crate::name_categories(&mut summary, policy);
    Ok(Screened { summary, outputs })
}
