//! Whole Dockerfiles in `testdata/`: each `NAME.Dockerfile` is parsed and compared with
//! `NAME.expected` (one dumped instruction per line, or `error: MESSAGE`). The inputs recreate
//! the interesting cases of BuildKit's parser fixtures (continuations, escapes, ENV forms,
//! JSON edge cases, the escape directive, HEALTHCHECK) in our own words.

mod common;

use std::path::Path;

use common::{dump, kinds};
use skiff_build::dockerfile;

#[test]
fn testdata_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "Dockerfile"))
        .collect();
    names.sort();
    assert!(names.len() >= 12, "fixtures missing in {}", dir.display());
    let mut failures = Vec::new();
    for path in &names {
        let source = std::fs::read_to_string(path).unwrap();
        let expected_path = path.with_extension("expected");
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        let got = match dockerfile::parse(&source) {
            Ok(df) => kinds(&df).iter().map(dump).collect::<Vec<_>>().join("\n"),
            Err(e) => format!("error: {e}"),
        };
        if got.trim_end() != expected.trim_end() {
            failures.push(format!(
                "{}:\n--- expected\n{}\n--- got\n{}",
                path.display(),
                expected.trim_end(),
                got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
