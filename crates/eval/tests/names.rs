//! Model names with credentials: stored without them, and matched back on resume.

use assay_eval::audit::{resume_names, stored_name};

#[test]
fn stored_names_have_no_credentials_and_resume_takes_them_back() {
    let real = "http://user:s3cret@127.0.0.1:9/v1#m";
    let stored = stored_name(real);
    assert_eq!(stored, "http://***@127.0.0.1:9/v1#m");
    assert_eq!(stored_name("local:smollm2"), "local:smollm2");
    let run = vec![stored.clone(), "local:smollm2".to_string()];

    // Given again: opened with its credentials; a model without any is opened as stored.
    let names = resume_names(&run, &[real.to_string()]).unwrap();
    assert_eq!(names[&stored], real);
    assert_eq!(names["local:smollm2"], "local:smollm2");

    // Not given: the error names the model without its credentials.
    let err = resume_names(&run, &[]).unwrap_err().to_string();
    assert!(
        err.contains(&stored) && err.contains("give the model again"),
        "{err}"
    );
    assert!(!err.contains("s3cret"));

    // A model that is not the run's is refused, again without its credentials.
    let other = "http://user:other@127.0.0.1:10/v1#m";
    let err = resume_names(&run, &[other.to_string()])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not a model of this run") && !err.contains("other@"),
        "{err}"
    );
}
