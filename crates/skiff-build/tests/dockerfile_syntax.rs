//! Dockerfile syntax: parser directives, comments, blank lines, continuations, here-documents,
//! JSON vs shell form, line numbers. Expected values follow Docker's parser.

mod common;

use common::{after_from, dump, dump_source, kinds, one, parse_err, parse_ok};
use skiff_build::dockerfile::{CommandLine, ErrorKind, InstructionKind, Source};

// ---------------------------------------------------------------- parser directives

#[test]
fn escape_directive_backtick_changes_continuation_and_escapes() {
    let df = parse_ok(
        "# escape=`\nFROM mcr/windows\nRUN dir c:\\ `\n    && echo done\nENV P c:\\path\\to\n",
    );
    assert_eq!(df.directives.escape, '`');
    assert_eq!(
        kinds(&df).iter().map(dump).collect::<Vec<_>>(),
        [
            r#"(from "mcr/windows")"#,
            r#"(run shell "dir c:\\     && echo done")"#,
            r#"(env legacy "P" "c:\\path\\to")"#,
        ]
    );
}

#[test]
fn backtick_escape_makes_backslash_at_end_literal() {
    // With ` as escape, a trailing backslash is an ordinary character: no continuation.
    let got = dump_source("#escape=`\nFROM x\nCOPY a c:\\dir\\\nWORKDIR c:\\\n");
    assert_eq!(
        got,
        "(from \"x\")\n(copy \"a\" \"c:\\\\dir\\\\\")\n(workdir \"c:\\\\\")"
    );
}

#[test]
fn escape_directive_is_case_insensitive_and_allows_spaces() {
    assert_eq!(
        parse_ok("#  ESCAPE  =  `  \nFROM x\n").directives.escape,
        '`'
    );
    assert_eq!(parse_ok("# Escape=\\\nFROM x\n").directives.escape, '\\');
}

#[test]
fn syntax_and_check_directives_are_recorded() {
    let df = parse_ok("# syntax=docker/Dockerfile:1.7 \n# check=skip=all\nFROM x\n");
    assert_eq!(
        df.directives.syntax.as_deref(),
        Some("docker/Dockerfile:1.7")
    );
    assert_eq!(df.directives.check.as_deref(), Some("skip=all"));
    assert_eq!(df.directives.escape, '\\');
}

#[test]
fn directive_after_a_comment_is_just_a_comment() {
    let df = parse_ok("# a comment first\n# escape=`\nFROM x\nENV GOPATH \\\n\\go\n");
    assert_eq!(df.directives.escape, '\\');
    // The backslash continuation still applies, so ENV reads "\go" from the next line.
    assert_eq!(dump(&kinds(&df)[1]), r#"(env legacy "GOPATH" "\\go")"#);
}

#[test]
fn directive_after_a_blank_line_or_an_instruction_is_ignored() {
    assert_eq!(parse_ok("\n# escape=`\nFROM x\n").directives.escape, '\\');
    let df = parse_ok("FROM x\n# escape=`\nRUN a \\\n b\n");
    assert_eq!(df.directives.escape, '\\');
    assert_eq!(dump(&kinds(&df)[1]), r#"(run shell "a  b")"#);
}

#[test]
fn unknown_directive_ends_the_directive_section() {
    let df = parse_ok("# foo=bar\n# escape=`\nFROM x\n");
    assert_eq!(df.directives.escape, '\\');
}

#[test]
fn escape_directive_without_newline_before_from() {
    let df = parse_ok("# escape=`\n# a comment, no blank line after the directive\nFROM image\nENV GOPATH `\n\\go");
    assert_eq!(dump(&kinds(&df)[1]), r#"(env legacy "GOPATH" "\\go")"#);
}

#[test]
fn repeated_directive_is_an_error() {
    let err = parse_err("# escape=`\n# escape=\\\nFROM x\n");
    assert_eq!(err.line, 2);
    assert_eq!(err.kind, ErrorKind::RepeatedDirective("escape"));
    assert_eq!(
        err.to_string(),
        "Dockerfile parse error on line 2: only one escape parser directive can be used"
    );
    assert_eq!(
        parse_err("# syntax=a\n# SYNTAX=b\nFROM x").kind,
        ErrorKind::RepeatedDirective("syntax")
    );
}

#[test]
fn invalid_escape_token_is_an_error() {
    let err = parse_err("# escape=x\nFROM x\n");
    assert_eq!(
        (err.line, err.kind),
        (1, ErrorKind::InvalidEscape("x".into()))
    );
}

#[test]
fn byte_order_mark_is_ignored_even_before_a_directive() {
    let df = parse_ok("\u{feff}# escape=`\nFROM x\n");
    assert_eq!(df.directives.escape, '`');
}

// ---------------------------------------------------------------- comments, blanks, case

#[test]
fn comments_blank_lines_and_whitespace() {
    let got = dump_source("\n  # indented comment\nFROM   base\n\n\t\n# c\n   RUN echo # not a comment\n\tCMD\t[\"a\"]\t\n");
    assert_eq!(
        got,
        "(from \"base\")\n(run shell \"echo # not a comment\")\n(cmd exec \"a\")"
    );
}

#[test]
fn instruction_names_are_case_insensitive() {
    let got = dump_source("from a AS Builder\nrUn true\nWorkDir /x\n");
    assert_eq!(
        got,
        "(from \"a\" as \"builder\")\n(run shell \"true\")\n(workdir \"/x\")"
    );
}

#[test]
fn crlf_line_endings() {
    let got = dump_source("FROM a\r\nRUN echo one \\\r\n  two\r\nLABEL k=v\r\n");
    assert_eq!(
        got,
        "(from \"a\")\n(run shell \"echo one   two\")\n(label \"k\" \"v\")"
    );
}

#[test]
fn empty_files_and_comment_only_files_have_no_instructions() {
    assert_eq!(parse_err("").kind, ErrorKind::NoInstructions);
    assert_eq!(
        parse_err("# only\n\n   \n# comments\n").kind,
        ErrorKind::NoInstructions
    );
}

#[test]
fn only_arg_may_come_before_from() {
    let err = parse_err("ARG a\nRUN true\nFROM x\n");
    assert_eq!(
        (err.line, err.kind),
        (2, ErrorKind::NoBuildStage("RUN".into()))
    );
    assert_eq!(parse_err("ARG only=1\n").kind, ErrorKind::NoFrom);
}

#[test]
fn unknown_instruction_reports_line_and_name() {
    let err = parse_err("FROM x\nRUN true\n\nFOO bar\n");
    assert_eq!(err.line, 4);
    assert_eq!(
        err.to_string(),
        "Dockerfile parse error on line 4: unknown instruction: FOO"
    );
}

// ---------------------------------------------------------------- continuations

#[test]
fn continuation_keeps_leading_whitespace_of_next_lines() {
    let got = after_from("RUN echo hello\\\n  world\\\n  good  \\\n  night\\\nlight\n")
        .iter()
        .map(dump)
        .collect::<Vec<_>>();
    assert_eq!(
        got,
        [r#"(run shell "echo hello  world  good    nightlight")"#]
    );
}

#[test]
fn continuation_variants() {
    let body = "RUN echo a  \\\nb\nRUN echo a \\\nc\\\nd\nRUN echo a  \\  \nb\nRUN echo x \\\n \\\n y \\\n\\\n z\\\n\\\nw\n";
    let got = after_from(body).iter().map(dump).collect::<Vec<_>>();
    assert_eq!(
        got,
        [
            r#"(run shell "echo a  b")"#,
            r#"(run shell "echo a cd")"#,
            // spaces after the escape still make a continuation
            r#"(run shell "echo a  b")"#,
            // lines made of an escape only add nothing
            r#"(run shell "echo x   y  zw")"#,
        ]
    );
}

#[test]
fn empty_continuation_lines_are_dropped_with_a_warning() {
    let df = parse_ok("FROM x\nRUN apt-get update && \\\n\n    apt-get install -y curl \\\n   \n    && true\nCMD x\n");
    assert_eq!(
        dump(&kinds(&df)[1]),
        r#"(run shell "apt-get update &&     apt-get install -y curl     && true")"#
    );
    assert_eq!(df.warnings.len(), 1);
    assert_eq!(df.warnings[0].line, 2);
    assert!(
        df.warnings[0].message.contains("Empty continuation line"),
        "{:?}",
        df.warnings
    );
}

#[test]
fn comment_lines_inside_a_continuation_are_dropped() {
    let got =
        after_from("RUN echo start \\\n# a comment \\\n  # another\n\n# more\n  end\nCMD done\n");
    assert_eq!(
        got.iter().map(dump).collect::<Vec<_>>(),
        [r#"(run shell "echo start   end")"#, r#"(cmd shell "done")"#]
    );
}

#[test]
fn escaped_escape_at_end_of_line_is_not_a_continuation() {
    let got = after_from("RUN echo foo\\\\\nRUN echo bar\n");
    assert_eq!(
        got.iter().map(dump).collect::<Vec<_>>(),
        [r#"(run shell "echo foo\\\\")"#, r#"(run shell "echo bar")"#]
    );
}

#[test]
fn continuation_at_end_of_file() {
    let got = after_from("ENV a=b \\\n    c=d \\");
    assert_eq!(
        got.iter().map(dump).collect::<Vec<_>>(),
        [r#"(env "a" "b" "c" "d")"#]
    );
}

#[test]
fn line_numbers_and_source_text() {
    let df = parse_ok("# comment\nFROM x\n\nRUN a \\\n  b \\\n\n  c\nCMD d\n");
    let stage = &df.stages[0];
    assert_eq!(stage.start_line, 2);
    let run = &stage.instructions[0];
    assert_eq!((run.start_line, run.end_line), (4, 7));
    assert_eq!(run.source, "RUN a   b   c");
    assert_eq!(
        (
            stage.instructions[1].start_line,
            stage.instructions[1].end_line
        ),
        (8, 8)
    );
}

// ---------------------------------------------------------------- here-documents

#[test]
fn run_heredoc() {
    let df = parse_ok("FROM x\nRUN <<EOF\necho hello\necho $HOME\nEOF\nCMD done\n");
    let stage = &df.stages[0];
    assert_eq!(
        dump(&stage.instructions[0].kind),
        r#"(run shell "<<EOF" (heredoc "EOF" "echo hello\necho $HOME\n" expand=true chomp=false))"#
    );
    assert_eq!(
        (
            stage.instructions[0].start_line,
            stage.instructions[0].end_line
        ),
        (2, 5)
    );
    assert_eq!(dump(&stage.instructions[1].kind), r#"(cmd shell "done")"#);
}

#[test]
fn heredoc_with_dash_strips_leading_tabs() {
    let InstructionKind::Run(run) =
        one("RUN <<-EOT bash\n\tif true; then\n\t\techo yes\n\tfi\n\tEOT\n")
    else {
        panic!()
    };
    let doc = &run.heredocs[0];
    assert!(doc.chomp);
    assert_eq!(doc.content, "\tif true; then\n\t\techo yes\n\tfi\n");
    assert_eq!(doc.body(), "if true; then\necho yes\nfi\n");
    assert_eq!(run.command, CommandLine::Shell("<<-EOT bash".into()));
}

#[test]
fn quoted_heredoc_delimiters_disable_expansion() {
    for (line, name) in [
        ("<<\"EOF\"", "EOF"),
        ("<<'EOF'", "EOF"),
        ("<<E\"O\"F", "EOF"),
        ("<<-'END'", "END"),
    ] {
        let InstructionKind::Run(run) = one(&format!("RUN cat {line}\n$NOT_EXPANDED\n{name}\n"))
        else {
            panic!()
        };
        assert_eq!(run.heredocs.len(), 1, "{line}");
        assert_eq!(run.heredocs[0].name, name, "{line}");
        assert!(!run.heredocs[0].expand, "{line}");
        assert_eq!(run.heredocs[0].content, "$NOT_EXPANDED\n");
    }
    let InstructionKind::Run(run) = one("RUN cat <<EOF\nx\nEOF\n") else {
        panic!()
    };
    assert!(run.heredocs[0].expand);
}

#[test]
fn several_heredocs_on_one_line() {
    let InstructionKind::Run(run) =
        one("RUN <<FILE1 cat > /f1 && <<FILE2 cat > /f2\nfirst\nFILE1\nsecond\nline\nFILE2\n")
    else {
        panic!()
    };
    let names: Vec<_> = run
        .heredocs
        .iter()
        .map(|h| (h.name.as_str(), h.content.as_str()))
        .collect();
    assert_eq!(names, [("FILE1", "first\n"), ("FILE2", "second\nline\n")]);
}

#[test]
fn heredoc_with_file_descriptor() {
    let InstructionKind::Run(run) = one("RUN python3 3<<PY\nprint(1)\nPY\n") else {
        panic!()
    };
    assert_eq!(
        (run.heredocs[0].fd, run.heredocs[0].name.as_str()),
        (3, "PY")
    );
}

#[test]
fn copy_heredoc_is_file_content() {
    let got = after_from(
        "COPY <<robots.txt <<-EOF /usr/share/html/\nUser-agent: *\nrobots.txt\n\thello\n\tEOF\n",
    );
    assert_eq!(
        got.iter().map(dump).collect::<Vec<_>>(),
        [
            r#"(copy (heredoc "robots.txt" "User-agent: *\n" expand=true) (heredoc "EOF" "hello\n" expand=true) "/usr/share/html/")"#
        ]
    );
    let InstructionKind::Copy(copy) =
        one("COPY --chmod=755 <<'EOF' /run.sh\n#!/bin/sh\necho $1\nEOF\n")
    else {
        panic!()
    };
    match &copy.sources[0] {
        Source::Heredoc(h) => assert_eq!(
            (h.content.as_str(), h.expand),
            ("#!/bin/sh\necho $1\n", false)
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(copy.chmod.as_deref(), Some("755"));
}

#[test]
fn heredoc_as_destination_is_an_error() {
    let err = parse_err("FROM x\nCOPY a <<EOF\nbody\nEOF\n");
    assert_eq!(
        (err.line, err.kind),
        (2, ErrorKind::HeredocDestination("COPY"))
    );
}

#[test]
fn unterminated_heredoc_is_an_error() {
    let err = parse_err("FROM x\nRUN <<EOF\necho hi\nEOF \n");
    assert_eq!(err.line, 2);
    assert_eq!(
        err.kind,
        ErrorKind::UnterminatedHeredoc { name: "EOF".into() }
    );
}

#[test]
fn heredoc_markers_that_are_not_heredocs() {
    // JSON form, quoted markers, and instructions other than RUN/COPY/ADD do not read bodies.
    let got = after_from(
        "RUN [\"cat\", \"<<EOF\"]\nRUN echo \"<<EOF\" '<<X'\nENV a=<<EOF\nCMD cat <<EOF\n",
    );
    assert_eq!(got.len(), 4, "{got:#?}");
    assert!(got
        .iter()
        .all(|k| !matches!(k, InstructionKind::Run(r) if !r.heredocs.is_empty())));
    // CMD takes no here-document, so the would-be delimiter line is an instruction.
    let err = parse_err("FROM x\nCMD cat <<EOF\nEOF\n");
    assert_eq!(err.kind, ErrorKind::UnknownInstruction("EOF".into()));
}

#[test]
fn heredoc_terminator_with_crlf_and_body_kept_byte_for_byte() {
    let InstructionKind::Run(run) = one("RUN <<EOF\r\na  \r\n\r\nEOF\r\n") else {
        panic!()
    };
    assert_eq!(run.heredocs[0].content, "a  \r\n\r\n");
}

#[test]
fn heredoc_after_continuation_and_in_onbuild() {
    let got = after_from(
        "RUN --network=none \\\n  <<EOF sh\necho 1\nEOF\nONBUILD RUN <<EOF\necho 2\nEOF\n",
    );
    assert_eq!(
        got.iter().map(dump).collect::<Vec<_>>(),
        [
            r#"(run network=None shell "<<EOF sh" (heredoc "EOF" "echo 1\n" expand=true chomp=false))"#,
            r#"(onbuild (run shell "<<EOF" (heredoc "EOF" "echo 2\n" expand=true chomp=false)))"#,
        ]
    );
    let InstructionKind::Onbuild(onbuild) = &got[1] else {
        panic!()
    };
    assert_eq!(onbuild.expression, "RUN <<EOF\necho 2\nEOF");
}

// ---------------------------------------------------------------- JSON and shell form

#[test]
fn json_forms_with_whitespace_variants() {
    let got = after_from(
        "CMD []\nCMD [\"\"]\nCMD [\"a\"]\nCMD [\"a\",\"b\"]\nCMD [ \"a\", \"b\" ]\nCMD [\t\"a\",\t\"b\"\t]\nCMD\t[\t\"a\",\t\"b\"\t]\t\n",
    );
    assert_eq!(
        got.iter().map(dump).collect::<Vec<_>>(),
        [
            "(cmd exec)",
            r#"(cmd exec "")"#,
            r#"(cmd exec "a")"#,
            r#"(cmd exec "a" "b")"#,
            r#"(cmd exec "a" "b")"#,
            r#"(cmd exec "a" "b")"#,
            r#"(cmd exec "a" "b")"#,
        ]
    );
}

#[test]
fn json_escapes_are_decoded() {
    let InstructionKind::Cmd(cmd) =
        one(r#"CMD ["abc 123", "♥", "\" \\ \/ \b \f \n \r \t \u0041\u00e9\u2603"]"#)
    else {
        panic!()
    };
    assert_eq!(
        cmd,
        CommandLine::Exec(vec![
            "abc 123".into(),
            "♥".into(),
            "\" \\ / \u{8} \u{c} \n \r \t Aé☃".into()
        ])
    );
    let InstructionKind::Entrypoint(ep) = one(r#"ENTRYPOINT [ "\/usr\\\"/bin/app", "-f" ]"#) else {
        panic!()
    };
    assert_eq!(
        ep,
        CommandLine::Exec(vec!["/usr\\\"/bin/app".into(), "-f".into()])
    );
}

#[test]
fn invalid_json_falls_back_to_shell_form() {
    for text in [
        "['echo','single quotes are invalid JSON']",
        "[\"echo\", \"unterminated bracket\"",
        "[\"echo\", \"unterminated string]",
        "\"[\\\"echo\\\", \\\"json inside a string\\\"]\"",
        "[\"trailing comma\",]",
        "[ echo ]",
    ] {
        let InstructionKind::Cmd(cmd) = one(&format!("CMD {text}")) else {
            panic!()
        };
        assert_eq!(cmd, CommandLine::Shell(text.to_string()), "{text}");
    }
}

#[test]
fn json_with_non_strings_is_an_error() {
    for text in [
        "[\"a\", 1]",
        "[null]",
        "[[\"nested\"]]",
        "[{\"a\": \"b\"}]",
        "[true]",
    ] {
        let err = parse_err(&format!("FROM x\nRUN {text}\n"));
        assert_eq!(
            (err.line, err.kind),
            (2, ErrorKind::JsonNotStrings("RUN")),
            "{text}"
        );
    }
}

#[test]
fn text_after_a_json_array_is_ignored_like_docker() {
    let InstructionKind::Cmd(cmd) = one("CMD [\"a\", \"b\"] c d") else {
        panic!()
    };
    assert_eq!(cmd, CommandLine::Exec(vec!["a".into(), "b".into()]));
}

#[test]
fn shell_form_is_kept_verbatim() {
    let got = after_from(
        "RUN echo \"1234\" && echo '5' | wc -l\nCMD echo $HOME\nENTRYPOINT exec  top  -b\nCMD\n",
    );
    assert_eq!(
        got.iter().map(dump).collect::<Vec<_>>(),
        [
            r#"(run shell "echo \"1234\" && echo '5' | wc -l")"#,
            r#"(cmd shell "echo $HOME")"#,
            r#"(entrypoint shell "exec  top  -b")"#,
            r#"(cmd shell "")"#,
        ]
    );
}

#[test]
fn json_is_read_like_go_does() {
    // Checked against docker 20.10.24 (see tests/docker_compat.rs).
    let cases: &[(&str, CommandLine)] = &[
        // an unpaired surrogate becomes U+FFFD; a valid pair after it still decodes
        (
            r#"CMD ["\ud800x"]"#,
            CommandLine::Exec(vec!["\u{fffd}x".into()]),
        ),
        (
            r#"CMD ["\uDC00\uD800\uDC00"]"#,
            CommandLine::Exec(vec!["\u{fffd}\u{10000}".into()]),
        ),
        (r#"CMD ["a"]]"#, CommandLine::Exec(vec!["a".into()])),
        ("CMD [01]", CommandLine::Shell("[01]".into())),
        (
            r#"CMD ["a" "b"]"#,
            CommandLine::Shell(r#"["a" "b"]"#.into()),
        ),
        (r#"CMD ["\x41"]"#, CommandLine::Shell(r#"["\x41"]"#.into())),
        (
            "CMD [\"tab\tinside\"]",
            CommandLine::Shell("[\"tab\tinside\"]".into()),
        ),
        (
            r#"CMD ["\u004"]"#,
            CommandLine::Shell(r#"["\u004"]"#.into()),
        ),
    ];
    for (line, expected) in cases {
        let InstructionKind::Cmd(cmd) = one(line) else {
            panic!()
        };
        assert_eq!(&cmd, expected, "{line}");
    }
    // Valid JSON that is not all strings is an error, even nested deep or after strings.
    for text in [
        r#"["a", {"k": [1, 2.5e-3, -0, true, null]}]"#,
        r#"["a", "b", false]"#,
    ] {
        let err = parse_err(&format!("FROM x\nCMD {text}\n"));
        assert_eq!(err.kind, ErrorKind::JsonNotStrings("CMD"), "{text}");
    }
}
