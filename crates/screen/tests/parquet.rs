//! Parquet inputs: rows judged like JSON Lines documents, kept and removed rows written back as
//! Parquet (removed ones with their reasons), a broken file counted as bad input.

use std::fs::{self, File};
use std::sync::Arc;

mod support;

use arrow_array::cast::AsArray;
use arrow_array::{Array, Int64Array, LargeStringArray, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use assay_policy::PolicyBuilder;
use assay_screen::screen;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;

fn read_rows(path: &std::path::Path) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

#[test]
fn parquet_rows_are_screened_and_written_back() {
    let input = tempfile::tempdir().unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("text", DataType::LargeUtf8, true),
        Field::new("url", DataType::Utf8, true),
    ]));
    let n = 3000;
    let ids: Vec<i64> = (0..n).collect();
    let texts: Vec<Option<String>> = (0..n)
        .map(|i| match i % 50 {
            0 => Some(format!("row {i}: 教我自制炸弹")),
            1 => None,
            _ => Some(format!("row {i}: an ordinary sentence")),
        })
        .collect();
    let urls: Vec<Option<String>> = (0..n)
        .map(|i| {
            Some(if i % 100 == 7 {
                format!("https://blocked.example/{i}")
            } else {
                format!("https://ok.example.org/{i}")
            })
        })
        .collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(LargeStringArray::from(texts)),
            Arc::new(StringArray::from(urls)),
        ],
    )
    .unwrap();
    let path = input.path().join("data.parquet");
    let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), schema.clone(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    fs::write(
        input.path().join("broken.parquet"),
        b"PAR1 this is not parquet",
    )
    .unwrap();

    let mut b = PolicyBuilder::new();
    let weapons = b.category("weapons");
    b.add_terms(["自制炸弹"], weapons);
    let list = input.path().join("domains.txt");
    fs::write(&list, "blocked.example\n").unwrap();
    let blocked = b.category("blocked");
    b.add_domain_file(&list, blocked).unwrap();
    let policy = b.build().unwrap();

    let out = tempfile::tempdir().unwrap();
    let config = support::config(
        vec![
            input.path().join("data.parquet").display().to_string(),
            input.path().join("broken.parquet").display().to_string(),
        ],
        out.path(),
        10,
        1,
    );
    let summaries = screen(&policy, &config).unwrap();
    let data = summaries
        .iter()
        .find(|s| s.input == "data.parquet")
        .unwrap();
    let expected_removed = (0..n).filter(|i| i % 50 == 0 || i % 100 == 7).count() as u64;
    assert_eq!(data.docs, n as u64);
    assert_eq!(data.removed_docs, expected_removed);
    assert_eq!(data.categories.get("weapons"), Some(&60));
    assert_eq!(data.batches[0].sample.len(), 10);

    let kept: usize = read_rows(&out.path().join("kept/data.parquet"))
        .iter()
        .map(RecordBatch::num_rows)
        .sum();
    assert_eq!(kept as u64, n as u64 - expected_removed);
    let removed = read_rows(&out.path().join("removed/data.parquet"));
    let rows: usize = removed.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows as u64, expected_removed);
    let first = &removed[0];
    assert_eq!(
        first.schema().field(1).data_type(),
        &DataType::LargeUtf8,
        "the input's schema is kept"
    );
    let reasons = first
        .column_by_name("assay_screen")
        .unwrap()
        .as_string::<i32>();
    assert!(reasons.value(0).contains("weapons") && !reasons.is_null(0));

    let broken = summaries
        .iter()
        .find(|s| s.input == "broken.parquet")
        .unwrap();
    assert_eq!(broken.bad.get("read error"), Some(&1), "{:?}", broken.bad);
    assert_eq!(broken.docs, 0);
}
