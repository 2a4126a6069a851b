//! Policy packs from disk and built in: loading, categories, UT1 trees, errors that name the
//! file and line, and what the example pack finds in English and Chinese text.

use std::fs;
use std::path::Path;

use assay_policy::{HitKind, PackError, Policy, PolicyBuilder};

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn categories_found(policy: &Policy, text: &str) -> Vec<String> {
    let mut ids: Vec<String> = policy
        .scan(text)
        .iter()
        .map(|h| policy.category(h.category).id.clone())
        .collect();
    ids.dedup();
    ids
}

#[test]
fn the_example_pack_finds_english_chinese_and_traditional() {
    let policy = Policy::builtin("example").unwrap();
    assert_eq!(policy.name, "example");
    let weapons = policy.category_index("weapons").unwrap();
    let violence = policy.category_index("violence").unwrap();
    assert_eq!(policy.category(weapons).parent, Some(violence));
    assert_eq!(
        categories_found(&policy, "How do I build a PIPE BOMB?"),
        ["weapons"]
    );
    assert_eq!(categories_found(&policy, "教我制作炸弹"), ["weapons"]);
    // Traditional characters and a zero-width space in the middle.
    let text = "教我製作\u{200B}炸彈";
    let hits = policy.scan(text);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(&text[hits[0].range.clone()], "製作\u{200B}炸彈");
    // Allow phrases and harmless look-alikes.
    assert!(policy.scan("How do I kill a process on Linux?").is_empty());
    assert!(policy
        .scan("The bomb calorimeter measures heat of combustion.")
        .is_empty());
    assert!(policy
        .scan("Bombastic speeches about counterfeiting history.")
        .is_empty());
    // A pattern: a Chinese resident identity number.
    let hits = policy.scan("我的身份证号是11010519491231002X");
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].kind, HitKind::Pattern);
    assert_eq!(policy.category(hits[0].category).id, "privacy");
    // A domain list.
    let hit = policy
        .check_url("https://shop.fake-documents.example/order")
        .unwrap();
    assert_eq!(policy.category(hit.category).id, "fraud");
    // Every category of the built-in pack has its Chinese name (the guard's Chinese refusals
    // name the category with it).
    for category in policy.categories() {
        let zh = category.name_zh.as_deref().unwrap_or_default();
        assert!(
            zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "category {} has no Chinese name: {zh:?}",
            category.id
        );
    }
    assert_eq!(
        policy.category(weapons).name_zh.as_deref(),
        Some("武器和爆炸物")
    );
}

#[test]
fn packs_from_disk_with_ut1_trees_and_allow_lists() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "policy.toml",
        r#"
name = "test"
version = "2"
[[categories]]
id = "gambling"
name = "Gambling"
name_zh = " 赌博 "
keywords = ["kw/gambling.txt"]
[allow]
domains = ["allow.txt"]
[[ut1]]
dir = "ut1"
"#,
    );
    write(
        d,
        "kw/gambling.txt",
        "# comment\n\nonline casino\n网络赌场\n",
    );
    write(d, "allow.txt", "news.bet365.com\n");
    write(
        d,
        "ut1/gambling/domains",
        "bet365.com\nwww.pokerstars.com\n",
    );
    write(d, "ut1/gambling/urls", "example.org/casino\n");
    write(d, "ut1/phishing/domains", "login-paypa1.com\n");
    write(d, "ut1/README", "not a category\n");
    let policy = Policy::load(d).unwrap();
    assert_eq!(policy.name, "test");
    let ids: Vec<&str> = policy.categories().iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["gambling", "phishing"]);
    let gambling = policy.category_index("gambling").unwrap();
    // `name_zh` is read (trimmed); a UT1 category has none.
    assert_eq!(policy.category(gambling).name_zh.as_deref(), Some("赌博"));
    assert_eq!(policy.categories()[1].name_zh, None);
    assert_eq!(
        policy
            .check_url("https://sports.bet365.com/")
            .unwrap()
            .category,
        gambling
    );
    assert_eq!(
        policy.check_url("pokerstars.com").unwrap().category,
        gambling
    );
    assert!(
        policy.check_url("https://news.bet365.com/today").is_none(),
        "allow-listed"
    );
    assert!(policy
        .check_url("https://example.org/casino/slots")
        .is_some());
    assert!(policy.check_url("https://example.org/casinos").is_none());
    assert_eq!(
        policy
            .category(
                policy
                    .check_url("http://login-paypa1.com")
                    .unwrap()
                    .category
            )
            .id,
        "phishing"
    );
    assert_eq!(policy.scan("Best ONLINE casino bonus").len(), 1);
    assert_eq!(policy.scan("最好的网络赌场").len(), 1);
}

#[test]
fn lists_alone_without_a_pack() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "terms.txt", "forbidden phrase\n禁词\n");
    // A byte-order mark, spaces, CRLF, comments and blank lines around the entries.
    write(
        dir.path(),
        "domains.txt",
        "\u{feff}blocked.example \r\n# other.example\n\n\t WWW.Second.example\u{3000}\n",
    );
    let mut builder = PolicyBuilder::new();
    let keywords = builder.category("keywords");
    builder
        .add_keyword_file(&dir.path().join("terms.txt"), keywords)
        .unwrap()
        .add_domains_path(&dir.path().join("domains.txt"), "domains")
        .unwrap();
    let policy = builder.build().unwrap();
    assert_eq!(policy.scan("a Forbidden  Phrase and 禁词").len(), 2);
    assert!(policy.check_url("http://a.blocked.example/").is_some());
    assert!(policy.check_url("http://second.example/").is_some());
    assert!(policy.check_url("http://other.example/").is_none());
    // A bad byte is named by its line, wherever it is in the file.
    fs::write(
        dir.path().join("bad.txt"),
        b"a.example\nb.example\nc.\xffexample\n",
    )
    .unwrap();
    let e = PolicyBuilder::new()
        .add_domains_path(&dir.path().join("bad.txt"), "domains")
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.txt:3") && e.contains("UTF-8"), "{e}");
}

fn load_error(files: &[(&str, &[u8])]) -> String {
    let dir = tempfile::tempdir().unwrap();
    for (rel, bytes) in files {
        let path = dir.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }
    let err: PackError = Policy::load(dir.path()).unwrap_err();
    err.to_string()
}

#[test]
fn broken_packs_are_refused_naming_the_place() {
    let e = load_error(&[]);
    assert!(
        e.contains("policy.toml") && e.contains("cannot read"),
        "{e}"
    );
    let e = load_error(&[("policy.toml", b"name = \"x\"\nbogus = 1\n")]);
    assert!(e.contains("policy.toml") && e.contains("bogus"), "{e}");
    let e = load_error(&[(
        "policy.toml",
        b"name = \"x\"\n[[categories]]\nid = \"a\"\nparent = \"nope\"\n",
    )]);
    assert!(e.contains("\"nope\""), "{e}");
    let e = load_error(&[(
        "policy.toml",
        b"name = \"x\"\n[[categories]]\nid = \"a\"\nparent = \"b\"\n[[categories]]\nid = \"b\"\nparent = \"a\"\n",
    )]);
    assert!(e.contains("its own ancestor"), "{e}");
    let e = load_error(&[
        (
            "policy.toml",
            b"name = \"x\"\n[[categories]]\nid = \"a\"\npatterns = [\"p.txt\"]\n",
        ),
        ("p.txt", b"# fine\nok\n(unclosed\n"),
    ]);
    assert!(
        e.contains("p.txt:3") && e.contains("invalid pattern"),
        "{e}"
    );
    let e = load_error(&[
        (
            "policy.toml",
            b"name = \"x\"\n[[categories]]\nid = \"a\"\nkeywords = [\"k.txt\"]\n",
        ),
        ("k.txt", b"good\nbad \xff\n"),
    ]);
    assert!(e.contains("k.txt:2") && e.contains("UTF-8"), "{e}");
    let e = load_error(&[(
        "policy.toml",
        b"name = \"x\"\n[[categories]]\nid = \"a\"\nkeywords = [\"missing.txt\"]\n",
    )]);
    assert!(e.contains("missing.txt"), "{e}");
    let e = Policy::builtin("nope").unwrap_err().to_string();
    assert!(e.contains("example"), "{e}");
}

#[test]
fn a_host_in_two_packs_keeps_the_first_pack_s_category() {
    // The first pack's lists are a UT1 tree's, read as files; the second's are entries of a
    // category. Each host keeps the category of the pack added first.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "a/policy.toml", "name = \"a\"\n[[ut1]]\ndir = \"ut1\"\n");
    write(
        d,
        "a/ut1/gambling/domains",
        "both.example\nonly-a.example\n",
    );
    write(
        d,
        "b/policy.toml",
        "name = \"b\"\n[[categories]]\nid = \"other\"\nname = \"Other\"\ndomains = [\"other.txt\"]\n",
    );
    write(d, "b/other.txt", "both.example\nonly-b.example\n");
    let mut builder = PolicyBuilder::new();
    builder.add_pack(&d.join("a")).unwrap();
    builder.add_pack(&d.join("b")).unwrap();
    let policy = builder.build().unwrap();
    let category = |url: &str| {
        let hit = policy.check_url(url).unwrap();
        policy.categories()[hit.category as usize].id.clone()
    };
    assert_eq!(category("https://both.example/"), "gambling");
    assert_eq!(category("https://only-a.example/"), "gambling");
    assert_eq!(category("https://only-b.example/"), "other");
}
