//! Variable substitution and quote/escape processing, as Docker's shell lexer does it.

use std::collections::HashMap;

use skiff_build::dockerfile::{expand, expand_words, ExpandProblem, NoVariables};

fn vars() -> HashMap<String, String> {
    [
        ("A", "a"),
        ("EMPTY", ""),
        ("SPACED", "x  y"),
        ("FILE", "archive.tar.gz"),
        ("PATHV", "/usr/local/bin:/usr/bin"),
        ("STAR", "a*b"),
        ("ÜBER", "unicode"),
        ("_under1", "u"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn x(word: &str) -> String {
    expand(word, &vars(), '\\').unwrap_or_else(|e| panic!("{word:?}: {e}"))
}

fn problem(word: &str) -> ExpandProblem {
    match expand(word, &vars(), '\\') {
        Ok(v) => panic!("{word:?} expanded to {v:?}, expected an error"),
        Err(e) => {
            assert_eq!(e.word, word);
            e.problem
        }
    }
}

#[test]
fn plain_references() {
    let cases = [
        ("$A", "a"),
        ("${A}", "a"),
        ("pre$A.post", "prea.post"),
        ("${A}b", "ab"),
        ("$Ab", ""), // the name is "Ab", which is unset
        ("$UNSET", ""),
        ("${UNSET}", ""),
        ("$", "$"),
        ("a$", "a$"),
        ("$ x", "$ x"),
        ("$.", "$."),
        ("$_under1", "u"),
        ("$ÜBER", "unicode"),
        ("$1abc", "abc"), // positional parameters are unset
        ("$$", ""),
        ("$@x", "x"),
        ("${A}${A}", "aa"),
        ("$SPACED", "x  y"),
    ];
    for (word, expected) in cases {
        assert_eq!(x(word), expected, "{word}");
    }
}

#[test]
fn default_and_alternative_values() {
    let cases = [
        ("${A:-d}", "a"),
        ("${EMPTY:-d}", "d"),
        ("${UNSET:-d}", "d"),
        ("${A-d}", "a"),
        ("${EMPTY-d}", ""),
        ("${UNSET-d}", "d"),
        ("${A:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${UNSET:+alt}", ""),
        ("${A+alt}", "alt"),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${UNSET:-$A}", "a"),
        ("${UNSET:-${EMPTY:-nested}}", "nested"),
        ("${UNSET:-'quoted ${A}'}", "quoted ${A}"),
        ("${UNSET:-\"dq $A\"}", "dq a"),
        ("${UNSET:-a\\}b}", "a}b"),
        ("${UNSET:-}", ""),
        ("${A:?}", "a"),
        ("${EMPTY?}", ""),
    ];
    for (word, expected) in cases {
        assert_eq!(x(word), expected, "{word}");
    }
}

#[test]
fn required_values() {
    assert_eq!(
        problem("${UNSET:?}"),
        ExpandProblem::Required {
            name: "UNSET".into(),
            message: "is not allowed to be unset".into()
        }
    );
    assert_eq!(
        problem("${EMPTY:?}"),
        ExpandProblem::Required {
            name: "EMPTY".into(),
            message: "is not allowed to be empty".into()
        }
    );
    assert_eq!(
        problem("${UNSET?set UNSET with --build-arg}"),
        ExpandProblem::Required {
            name: "UNSET".into(),
            message: "set UNSET with --build-arg".into()
        }
    );
    let err = expand("${UNSET:?}", &vars(), '\\').unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to process \"${UNSET:?}\": UNSET: is not allowed to be unset"
    );
}

#[test]
fn prefix_and_suffix_removal() {
    let cases = [
        ("${FILE#*.}", "tar.gz"),
        ("${FILE##*.}", "gz"),
        ("${FILE%.*}", "archive.tar"),
        ("${FILE%%.*}", "archive"),
        ("${FILE#archive}", ".tar.gz"),
        ("${FILE#nomatch}", "archive.tar.gz"),
        ("${FILE%.gz}", "archive.tar"),
        ("${FILE#?}", "rchive.tar.gz"),
        ("${FILE%??}", "archive.tar."),
        ("${PATHV#*:}", "/usr/bin"),
        ("${PATHV%%:*}", "/usr/local/bin"),
        ("${STAR#a\\*}", "b"),
        ("${STAR#a*}", "*b"),
        ("${STAR##a*}", ""),
        ("${UNSET#x}", ""),
        ("${FILE#}", "archive.tar.gz"),
    ];
    for (word, expected) in cases {
        assert_eq!(x(word), expected, "{word}");
    }
    assert_eq!(
        problem("${A:#x}"),
        ExpandProblem::UnsupportedModifier(":#".into())
    );
    assert_eq!(
        problem("${A:%x}"),
        ExpandProblem::UnsupportedModifier(":%".into())
    );
    assert_eq!(
        problem("${FILE#\\x}"),
        ExpandProblem::InvalidPatternEscape {
            pattern: "\\x".into(),
            escaped: 'x'
        }
    );
}

#[test]
fn pattern_replacement() {
    let cases = [
        ("${PATHV/usr/opt}", "/opt/local/bin:/usr/bin"),
        ("${PATHV//usr/opt}", "/opt/local/bin:/opt/bin"),
        ("${PATHV//\\//|}", "|usr|local|bin:|usr|bin"),
        ("${FILE/.*/}", "archive"),
        ("${FILE/a?c/X}", "Xhive.tar.gz"),
        ("${FILE/zzz/X}", "archive.tar.gz"),
        ("${A/a/}", ""),
        ("${UNSET/a/b}", ""),
    ];
    for (word, expected) in cases {
        assert_eq!(x(word), expected, "{word}");
    }
    assert_eq!(problem("${A/a"), ExpandProblem::MissingSlash);
    assert_eq!(problem("${A/a/b"), ExpandProblem::MissingBrace);
}

#[test]
fn quotes_and_escapes() {
    let cases = [
        ("'$A'", "$A"),
        ("\"$A\"", "a"),
        ("\"a b\"", "a b"),
        ("'a \\ b'", "a \\ b"),
        ("\\$A", "$A"),
        ("\\${A}", "${A}"),
        ("a\\ b", "a b"),
        ("\\\\", "\\"),
        ("\"\\\"\"", "\""),
        ("\"\\$A\"", "$A"),
        ("\"\\\\\"", "\\"),
        ("\"\\n\"", "\\n"), // inside double quotes only " $ and \ are escapable
        ("\\n", "n"),
        ("it's\" \"ok\"'", "its\" \"ok\""),
        ("\"\"", ""),
        ("''", ""),
        ("abc\\", "abc"), // a trailing escape is dropped
        ("\"it's\"", "it's"),
        ("'a\"b'", "a\"b"),
        ("\"value'quote space'value2\"", "value'quote space'value2"),
        ("'a\\'b''", "a\\b"),
    ];
    for (word, expected) in cases {
        assert_eq!(x(word), expected, "{word}");
    }
    assert_eq!(problem("'open"), ExpandProblem::UnterminatedSingleQuote);
    assert_eq!(problem("\"open"), ExpandProblem::UnterminatedDoubleQuote);
    assert_eq!(problem("\"open\\"), ExpandProblem::UnterminatedDoubleQuote);
}

#[test]
fn backtick_escape_character() {
    let v = vars();
    assert_eq!(expand("`$A", &v, '`').unwrap(), "$A");
    assert_eq!(expand("c:\\dir\\$A", &v, '`').unwrap(), "c:\\dir\\a");
    assert_eq!(expand("\"`\"\"", &v, '`').unwrap(), "\"");
    assert_eq!(expand("a` b", &v, '`').unwrap(), "a b");
}

#[test]
fn syntax_errors() {
    assert_eq!(problem("${"), ExpandProblem::MissingBrace);
    assert_eq!(problem("${A"), ExpandProblem::MissingBrace);
    assert_eq!(problem("${A:-x"), ExpandProblem::MissingBrace);
    assert_eq!(problem("${}"), ExpandProblem::BadSubstitution);
    assert_eq!(problem("${:a}"), ExpandProblem::BadSubstitution);
    assert_eq!(problem("${{a}"), ExpandProblem::BadSubstitution);
    assert_eq!(
        problem("${A.b}"),
        ExpandProblem::UnsupportedModifier(".".into())
    );
    assert_eq!(
        problem("${A:x}"),
        ExpandProblem::UnsupportedModifier(":x".into())
    );
}

#[test]
fn word_splitting_for_expose() {
    let v = vars();
    let words = |w: &str| expand_words(w, &v, '\\').unwrap();
    assert_eq!(words("80 443"), ["80", "443"]);
    assert_eq!(words("$SPACED"), ["x", "y"]);
    assert_eq!(words("\"$SPACED\""), ["x  y"]);
    assert_eq!(words("a\\ b c"), ["a b", "c"]);
    assert_eq!(words("'' x \"\""), ["x"]); // an empty quoted string alone is no word
    assert_eq!(words("  "), Vec::<String>::new());
    assert_eq!(words("p${A}q r"), ["paq", "r"]);
    assert_eq!(expand("$SPACED", &v, '\\').unwrap(), "x  y");
}

#[test]
fn variables_sources() {
    let pairs = vec![
        ("K".to_string(), "first".to_string()),
        ("K".to_string(), "second".to_string()),
    ];
    assert_eq!(expand("$K", &pairs, '\\').unwrap(), "first");
    assert_eq!(expand("${K:-none}", &NoVariables, '\\').unwrap(), "none");
    let btree: std::collections::BTreeMap<String, String> =
        [("B".to_string(), "b".to_string())].into();
    assert_eq!(expand("$B", &btree, '\\').unwrap(), "b");
}

#[test]
fn many_stars_in_a_pattern_stay_fast() {
    // Exponential backtracking would make this test never end; no timing is asserted.
    let mut v = vars();
    v.insert("LONG".into(), "a".repeat(300));
    assert_eq!(
        expand("${LONG#*a*a*a*a*a*a*a*a*a*a*b}", &v, '\\')
            .unwrap()
            .len(),
        300
    );
    assert_eq!(
        expand("${LONG%%a*a*a*a*a*a*a*a*a*a}", &v, '\\').unwrap(),
        ""
    );
}
