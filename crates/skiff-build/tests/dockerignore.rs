//! `.dockerignore` parsing and matching, against Docker's (moby/patternmatcher) rules.

mod common;

use common::{walk, CONTEXT_DOCKERIGNORE, CONTEXT_FILES, DOCKER_20_10_COPIED};
use skiff_build::dockerignore::{DockerIgnore, DockerIgnoreError, Flavor, ParentMatches};

fn excluded(pattern: &str, path: &str) -> bool {
    DockerIgnore::from_patterns([pattern])
        .unwrap_or_else(|e| panic!("{pattern}: {e}"))
        .is_excluded(path)
}

#[test]
fn pattern_matching_table() {
    let table: &[(&str, &str, bool)] = &[
        ("**", "file", true),
        ("**", "dir/file", true),
        ("**/", "dir/file", true),
        ("**/**", "dir/file", true),
        ("dir/**", "dir/file", true),
        ("dir/**", "dir/dir2/file", true),
        ("dir/**", "dir", false),
        ("dir/**", "dirx/file", false),
        ("**/dir", "dir", true),
        ("**/dir", "dir/file", true),
        ("**/dir", "a/b/dir/file", true),
        ("**/dir2/*", "dir/dir2/file", true),
        ("**/dir2/**", "dir/dir2/dir3/file", true),
        ("**file", "file", true),
        ("**file", "dir/file", true),
        ("**file", "dir/dir/file", true),
        // Docker treats "**" + literal text as a plain suffix test
        ("**file", "dir/notafile", true),
        ("**/file", "dir/dir/file", true),
        ("**/file", "dir/notafile", false),
        ("**/file*", "dir/dir/file.txt", true),
        ("**/file*txt", "dir/dir/file.txt", true),
        ("**/**/*.txt", "dir/dir/file.txt", true),
        ("**/**/*.txt2", "dir/dir/file.txt", false),
        ("**/*.txt", "file.txt", true),
        ("**/**/*.txt", "file.txt", true),
        ("a**/*.txt", "a/file.txt", true),
        ("a**/*.txt", "a/dir/file.txt", true),
        ("a**/*.txt", "a/dir/dir/file.txt", true),
        ("a**/*.txt", "ab/file.txt", true),
        ("a/*.txt", "a/dir/file.txt", false),
        ("a/*.txt", "a/file.txt", true),
        ("a/*.txt**", "a/file.txt", true),
        ("a/**/b", "a/b", true),
        ("a/**/b", "a/x/y/b", true),
        ("a/**/b", "a/xb", false),
        ("*", "anything", true),
        ("*", "dir/file", true), // via the parent "dir"
        ("*/file", "dir/file", true),
        ("*/file", "a/b/file", false),
        ("a[b-d]e", "ae", false),
        ("a[b-d]e", "ace", true),
        ("a[b-d]e", "aae", false),
        ("a[^b-d]e", "aze", true),
        ("a[^b-d]e", "ace", false),
        ("[\\]]x", "]x", true),
        (".*", ".foo", true),
        (".*", "foo", false),
        ("abc.def", "abcdef", false),
        ("abc.def", "abc.def", true),
        ("abc.def", "abcZdef", false),
        ("abc?def", "abcZdef", true),
        ("abc?def", "abcdef", false),
        ("abc?def", "abc/def", false),
        ("a\\\\", "a\\", true),
        ("a\\*", "a*", true),
        ("a\\*", "ab", false),
        ("**/foo/bar", "foo/bar", true),
        ("**/foo/bar", "dir/foo/bar", true),
        ("**/foo/bar", "dir/dir2/foo/bar", true),
        ("abc/**", "abc", false),
        ("abc/**", "abc/def", true),
        ("abc/**", "abc/def/ghi", true),
        ("**/.foo", ".foo", true),
        ("**/.foo", "bar.foo", false),
        ("a(b)c/def", "a(b)c/def", true),
        ("a(b)c/def", "a(b)c/xyz", false),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
        (
            "dist/*.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            true,
        ),
        ("/abs", "abs", false), // from_patterns keeps "/": only the file reader strips it
        ("./rel//dir/", "rel/dir/x", true),
        ("a/../b", "b", true),
        ("ünï*", "ünïcode", true),
    ];
    for &(pattern, path, expected) in table {
        assert_eq!(
            excluded(pattern, path),
            expected,
            "pattern {pattern:?} path {path:?}"
        );
    }
}

#[test]
fn exceptions_and_order() {
    let ignore =
        DockerIgnore::from_patterns(["docs", "!docs/keep.md", "*.log", "!important.log", "tmp/"])
            .unwrap();
    for (path, expected) in [
        ("docs", true),
        ("docs/a.md", true),
        ("docs/keep.md", false),
        ("docs/sub/x", true),
        ("app.log", true),
        ("important.log", false),
        ("sub/app.log", false), // "*.log" does not cross "/"
        ("tmp/x/y", true),
        ("src/main.rs", false),
        ("Dockerfile", false),
        (".", false),
        ("", false),
    ] {
        assert_eq!(ignore.is_excluded(path), expected, "{path}");
    }
    assert!(ignore.has_exceptions());
    // The last matching pattern wins.
    assert!(DockerIgnore::from_patterns(["!a", "a"])
        .unwrap()
        .is_excluded("a"));
    assert!(!DockerIgnore::from_patterns(["a", "!a"])
        .unwrap()
        .is_excluded("a"));
    // An exception for a parent directory re-includes what a previous pattern excluded.
    assert!(!DockerIgnore::from_patterns(["a/b", "!a"])
        .unwrap()
        .is_excluded("a/b/c"));
    // ... and an exclusion after the exception wins again.
    assert!(DockerIgnore::from_patterns(["a", "!a/b", "a/b/c"])
        .unwrap()
        .is_excluded("a/b/c/d"));
    assert!(!DockerIgnore::from_patterns(["a", "!a/b", "a/b/c"])
        .unwrap()
        .is_excluded("a/b/x"));
}

#[test]
fn walking_with_parent_results_agrees_with_full_matching() {
    let sets: &[&[&str]] = &[
        &["a/b", "!a"],
        &["*", "!src", "src/**/*.tmp"],
        &["**/node_modules", "!keep/node_modules/x"],
        &["a", "!a/b", "a/b/c"],
        &["docs", "!docs/*.md", "docs/secret.md"],
    ];
    let paths = [
        "a",
        "a/b",
        "a/b/c",
        "a/b/c/d",
        "a/x",
        "src",
        "src/x.tmp",
        "src/d",
        "src/d/e.tmp",
        "src/d/e.rs",
        "keep",
        "keep/node_modules",
        "keep/node_modules/x",
        "keep/node_modules/y",
        "docs",
        "docs/a.md",
        "docs/secret.md",
        "docs/sub",
        "docs/sub/b.md",
    ];
    for patterns in sets {
        let ignore = DockerIgnore::from_patterns(patterns.iter()).unwrap();
        let mut state: std::collections::HashMap<&str, ParentMatches> = Default::default();
        for path in paths {
            let parent = path.rsplit_once('/').map(|(parent, _)| &state[parent]);
            let (walked, info) = ignore.matches_in(path, parent);
            assert_eq!(walked, ignore.is_excluded(path), "{patterns:?} {path}");
            state.insert(path, info);
        }
    }
}

#[test]
fn skipping_excluded_directories() {
    let ignore =
        DockerIgnore::from_patterns(["dir", "!dir/sub/keep", "other", "!*/wanted", "third"])
            .unwrap();
    assert!(ignore.may_reinclude_under("dir"));
    assert!(ignore.may_reinclude_under("dir/sub"));
    assert!(!ignore.may_reinclude_under("dir/elsewhere"));
    // A wildcard exception can reach into any top-level directory (docker 20.10 skipped these).
    assert!(ignore.may_reinclude_under("other"));
    assert!(ignore.may_reinclude_under("third"));
    assert!(!ignore.may_reinclude_under("third/deeper"));
    assert!(!ignore.is_excluded("other/wanted"));

    let no_exceptions = DockerIgnore::from_patterns(["x", "y/**"]).unwrap();
    assert!(!no_exceptions.has_exceptions());
    assert!(!no_exceptions.may_reinclude_under("x"));
    let unrelated = DockerIgnore::from_patterns(["x", "!y"]).unwrap();
    assert!(!unrelated.may_reinclude_under("x"));
    let anywhere = DockerIgnore::from_patterns(["x", "!**/keep"]).unwrap();
    assert!(anywhere.may_reinclude_under("x/deep/er"));
    let prefix = DockerIgnore::from_patterns(["x", "!x/a**"]).unwrap();
    assert!(prefix.may_reinclude_under("x"));
    assert!(prefix.may_reinclude_under("x/abc"));
    assert!(!prefix.may_reinclude_under("x/b"));
}

#[test]
fn reading_a_dockerignore_file() {
    let content = "\u{feff}# comment\n\n  node_modules  \n #not a comment\n/build/\n./tmp//cache/\n!  /build/keep\n**/*.swp\n\t\n";
    let ignore = DockerIgnore::parse(content).unwrap();
    let patterns: Vec<_> = ignore.patterns().collect();
    assert_eq!(
        patterns,
        [
            ("node_modules", false),
            ("#not a comment", false),
            ("build", false),
            ("tmp/cache", false),
            ("build/keep", true),
            ("**/*.swp", false),
        ]
    );
    assert!(ignore.is_excluded("node_modules/x/y.js"));
    assert!(ignore.is_excluded("#not a comment"));
    assert!(ignore.is_excluded("build/out"));
    assert!(!ignore.is_excluded("build/keep"));
    assert!(ignore.is_excluded("tmp/cache/a"));
    assert!(!ignore.is_excluded("tmp/other"));
    assert!(ignore.is_excluded("src/.main.rs.swp"));
    assert!(
        ignore.is_excluded("/build/out"),
        "a leading / in the queried path is ignored"
    );
}

#[test]
fn invalid_patterns() {
    assert_eq!(
        DockerIgnore::parse("ok\n!\n").unwrap_err(),
        DockerIgnoreError::IllegalExclusion
    );
    assert_eq!(
        DockerIgnore::parse("!   \n").unwrap_err(),
        DockerIgnoreError::IllegalExclusion
    );
    for bad in ["[a", "a[", "[]", "[^]", "a\\", "[a-]", "[-a]", "[]a]x"] {
        assert_eq!(
            DockerIgnore::from_patterns([bad]).unwrap_err(),
            DockerIgnoreError::BadPattern(bad.into()),
            "{bad}"
        );
    }
    for good in ["[a-c]", "[\\-]", "[^a]", "a]", "[a\\]]"] {
        assert!(DockerIgnore::from_patterns([good]).is_ok(), "{good}");
    }
}

#[test]
fn dockerfile_and_dockerignore_are_always_sent() {
    let mut ignore = DockerIgnore::parse("*\n").unwrap();
    ignore.keep_build_files("Dockerfile");
    assert!(!ignore.is_excluded("Dockerfile"));
    assert!(!ignore.is_excluded(".dockerignore"));
    assert!(ignore.is_excluded("src"));

    let mut ignore = DockerIgnore::parse("build\n.dockerignore\n").unwrap();
    ignore.keep_build_files("./build/Dockerfile.dev");
    assert!(!ignore.is_excluded("build/Dockerfile.dev"));
    assert!(!ignore.is_excluded(".dockerignore"));
    assert!(ignore.is_excluded("build/other"));

    let mut untouched = DockerIgnore::parse("target\n").unwrap();
    untouched.keep_build_files("Dockerfile");
    assert_eq!(untouched.patterns().count(), 1);
}

#[test]
fn classic_flavor_reproduces_docker_20_10() {
    let ignore = DockerIgnore::parse(CONTEXT_DOCKERIGNORE)
        .unwrap()
        .with_flavor(Flavor::Classic);
    assert_eq!(walk(&ignore, CONTEXT_FILES), DOCKER_20_10_COPIED);
}

#[test]
fn buildkit_flavor_lets_wildcard_exceptions_reach_into_excluded_directories() {
    let ignore = DockerIgnore::parse(CONTEXT_DOCKERIGNORE).unwrap();
    let mut expected: Vec<&str> = DOCKER_20_10_COPIED.to_vec();
    expected.extend(["other/wanted", "secret/a/ok"]);
    expected.sort();
    assert_eq!(walk(&ignore, CONTEXT_FILES), expected);
}

#[test]
fn classic_flavor_checks_parents_only_at_the_pattern_depth() {
    // docker 20.10's Matches: "**/foo" (2 elements) is tried on "a/b/foo/c" and on "a/b" only.
    // Checked with docker 20.10.24: it sent a/b/foo/other and a/b/foo/keep, not x/foo/y.
    let classic = DockerIgnore::from_patterns(["**/foo", "!a/b/foo/keep"])
        .unwrap()
        .with_flavor(Flavor::Classic);
    assert!(classic.is_excluded("a/b/foo"));
    assert!(!classic.is_excluded("a/b/foo/other"));
    let buildkit = DockerIgnore::from_patterns(["**/foo", "!a/b/foo/keep"]).unwrap();
    assert!(buildkit.is_excluded("a/b/foo/other"));
    assert!(!buildkit.is_excluded("a/b/foo/keep"));
}

#[test]
fn many_wildcards_stay_fast() {
    // A backtracking matcher takes exponential time here (the test would never end);
    // Docker's (a regexp) and ours are linear. No timing is asserted.
    let ignore =
        DockerIgnore::from_patterns(["*a*a*a*a*a*a*a*a*a*a*a*a*b", "!**/*a*a*a*a*a*a*a*a*a*a*c"])
            .unwrap();
    let long = "a".repeat(200);
    assert!(!ignore.is_excluded(&long));
    assert!(ignore.is_excluded(&format!("{long}b")));
    assert!(ignore.may_reinclude_under(&long));
}
