//! `Store::open_default` puts the store in `$ASSAY_HOME` (its own test binary: it sets the
//! process's environment).

use assay_store::Store;

#[test]
fn the_default_store_is_assay_db_in_assay_home() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home-not-there-yet");
    std::env::set_var("ASSAY_HOME", &home);
    assert_eq!(Store::default_path(), home.join("assay.db"));
    let store = Store::open_default().unwrap();
    assert_eq!(store.path(), home.join("assay.db"));
    assert!(home.join("assay.db").is_file());
    assert!(store.runs().unwrap().is_empty());
}
