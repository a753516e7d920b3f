//! Every instruction: its arguments, flags and Docker's validations.

mod common;

use std::time::Duration;

use common::{after_from, dump, kinds, one, parse_err, parse_ok};
use skiff_build::dockerfile::{self, ErrorKind, InstructionKind, NetworkMode, SecurityMode};

fn dumps(body: &str) -> Vec<String> {
    after_from(body).iter().map(dump).collect()
}

/// The error for `body` placed after a FROM line (so its line is 2 for a one-liner).
fn error_after_from(body: &str) -> (usize, ErrorKind) {
    let err = parse_err(&format!("FROM scratch\n{body}"));
    (err.line, err.kind)
}

// ---------------------------------------------------------------- FROM

#[test]
fn from_forms() {
    let df = parse_ok(
        "ARG BASE=alpine\nARG TAG\nFROM --platform=$BUILDPLATFORM ${BASE}:${TAG} AS Build-1.x\nFROM scratch\nFROM build-1.x as final\n",
    );
    assert_eq!(
        kinds(&df).iter().take(2).map(dump).collect::<Vec<_>>(),
        [r#"(arg "BASE"="alpine")"#, r#"(arg "TAG")"#]
    );
    assert_eq!(df.stages.len(), 3);
    assert_eq!(
        dump(&InstructionKind::From(df.stages[0].from.clone())),
        r#"(from platform="$BUILDPLATFORM" "${BASE}:${TAG}" as "build-1.x")"#
    );
    assert_eq!(
        df.stages[0].source,
        "FROM --platform=$BUILDPLATFORM ${BASE}:${TAG} AS Build-1.x"
    );
    assert_eq!(df.stages[1].from.image, "scratch");
    assert_eq!(df.stages[2].from.name.as_deref(), Some("final"));
}

#[test]
fn from_errors() {
    assert_eq!(parse_err("FROM\n").kind, ErrorKind::FromArguments);
    assert_eq!(parse_err("FROM a b\n").kind, ErrorKind::FromArguments);
    assert_eq!(parse_err("FROM a AS b c\n").kind, ErrorKind::FromArguments);
    assert_eq!(parse_err("FROM a IS b\n").kind, ErrorKind::FromArguments);
    assert_eq!(
        parse_err("FROM a AS 1st\n").kind,
        ErrorKind::InvalidStageName("1st".into())
    );
    assert_eq!(
        parse_err("FROM a AS we$rd\n").kind,
        ErrorKind::InvalidStageName("we$rd".into())
    );
    let err = parse_err("FROM a AS one\nFROM b AS two\nFROM c AS One\n");
    assert_eq!(
        (err.line, err.kind),
        (3, ErrorKind::DuplicateStageName("one".into()))
    );
    assert_eq!(
        parse_err("FROM --plat=x a\n").kind,
        ErrorKind::UnknownFlag {
            instruction: "FROM",
            flag: "plat".into()
        }
    );
}

// ---------------------------------------------------------------- RUN

#[test]
fn run_flags() {
    let InstructionKind::Run(run) = one(
        "RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=tok --network=host --security=insecure make",
    ) else {
        panic!()
    };
    assert_eq!(
        run.mounts,
        ["type=cache,target=/root/.cache", "type=secret,id=tok"]
    );
    assert_eq!(run.network, Some(NetworkMode::Host));
    assert_eq!(run.security, Some(SecurityMode::Insecure));
    assert_eq!(
        dumps("RUN --network=none [\"ls\", \"-l\"]"),
        [r#"(run network=None exec "ls" "-l")"#]
    );
    assert_eq!(
        dumps("RUN --network=default true"),
        [r#"(run network=Default shell "true")"#]
    );
    assert_eq!(
        dumps("RUN --security=sandbox true"),
        [r#"(run security=Sandbox shell "true")"#]
    );
}

#[test]
fn run_flag_errors() {
    assert_eq!(
        error_after_from("RUN --network=bridge true"),
        (2, ErrorKind::UnsupportedNetwork("bridge".into()))
    );
    assert_eq!(
        error_after_from("RUN --security=x true"),
        (2, ErrorKind::UnsupportedSecurity("x".into()))
    );
    assert_eq!(
        error_after_from("RUN --network true"),
        (
            2,
            ErrorKind::FlagMissingValue {
                instruction: "RUN",
                flag: "network".into()
            }
        )
    );
    assert_eq!(
        error_after_from("RUN --network=host --network=none true"),
        (
            2,
            ErrorKind::DuplicateFlag {
                instruction: "RUN",
                flag: "network".into()
            }
        )
    );
    assert_eq!(
        error_after_from("RUN --device=/dev/x true"),
        (
            2,
            ErrorKind::UnknownFlag {
                instruction: "RUN",
                flag: "device".into()
            }
        )
    );
    assert_eq!(
        error_after_from("RUN --mount=type=bind,from=$STAGE true"),
        (2, ErrorKind::MountFromVariable)
    );
}

// ---------------------------------------------------------------- ENV and LABEL

#[test]
fn env_key_value_pairs() {
    assert_eq!(
        dumps(concat!(
            "ENV a=b c=d\n",
            "ENV name=\"value value1\"\n",
            "ENV name=value\\ value2\n",
            "ENV name=\"value'quote space'value2\"\n",
            "ENV name='value\"double quote\"value2'\n",
            "ENV name=\"a\\\"b\"\n",
            "ENV name='a\\'b''\n",
            "ENV name=\"''\" empty= other=\"\"\n",
        )),
        [
            r#"(env "a" "b" "c" "d")"#,
            r#"(env "name" "\"value value1\"")"#,
            r#"(env "name" "value\\ value2")"#,
            r#"(env "name" "\"value'quote space'value2\"")"#,
            r#"(env "name" "'value\"double quote\"value2'")"#,
            r#"(env "name" "\"a\\\"b\"")"#,
            r#"(env "name" "'a\\'b''")"#,
            r#"(env "name" "\"''\"" "empty" "" "other" "\"\"")"#,
        ]
    );
}

#[test]
fn env_legacy_form_takes_the_rest_of_the_line() {
    assert_eq!(
        dumps("ENV SCUBA 1 DUBA 3\nENV SCUBA \"1 DUBA 3\"\nENV  PATH\t/usr/local/bin:$PATH  \n"),
        [
            r#"(env legacy "SCUBA" "1 DUBA 3")"#,
            r#"(env legacy "SCUBA" "\"1 DUBA 3\"")"#,
            r#"(env legacy "PATH" "/usr/local/bin:$PATH")"#,
        ]
    );
}

#[test]
fn env_over_several_lines() {
    assert_eq!(
        dumps("ENV name=value \\\n    name1=value1 \\\n    name2=\"value2a \\\n           value2b\" \\\n\tname3=\"a\\\\nb\"\n"),
        [r#"(env "name" "value" "name1" "value1" "name2" "\"value2a            value2b\"" "name3" "\"a\\\\nb\"")"#]
    );
}

#[test]
fn env_errors() {
    let err = parse_err("FROM x\n\n# note\nENV =value\n");
    assert_eq!((err.line, &err.kind), (4, &ErrorKind::BlankName("ENV")));
    assert_eq!(
        err.to_string(),
        "Dockerfile parse error on line 4: ENV names can not be blank"
    );
    assert_eq!(
        error_after_from("ENV"),
        (2, ErrorKind::AtLeastOneArgument("ENV"))
    );
    assert_eq!(
        error_after_from("ENV lonely"),
        (2, ErrorKind::NameWithoutValue("ENV"))
    );
    assert_eq!(
        error_after_from("ENV a=b c"),
        (
            2,
            ErrorKind::MissingEquals {
                instruction: "ENV",
                word: "c".into()
            }
        )
    );
    assert_eq!(
        error_after_from("ENV --x=y a=b"),
        (
            2,
            ErrorKind::UnknownFlag {
                instruction: "ENV",
                flag: "x".into()
            }
        )
    );
}

#[test]
fn label_forms() {
    assert_eq!(
        dumps(concat!(
            "LABEL maintainer docker <docker@docker.io>\n",
            "LABEL \"com.example.vendor\"=\"ACME Inc\" version=1.0 \\\n      description=\"multi\\\n line\"\n",
            "LABEL a='single quoted' b=c\\ d\n",
        )),
        [
            r#"(label legacy "maintainer" "docker <docker@docker.io>")"#,
            r#"(label "\"com.example.vendor\"" "\"ACME Inc\"" "version" "1.0" "description" "\"multi line\"")"#,
            r#"(label "a" "'single quoted'" "b" "c\\ d")"#,
        ]
    );
    assert_eq!(
        error_after_from("LABEL"),
        (2, ErrorKind::AtLeastOneArgument("LABEL"))
    );
    assert_eq!(
        error_after_from("LABEL =x"),
        (2, ErrorKind::BlankName("LABEL"))
    );
}

// ---------------------------------------------------------------- ARG

#[test]
fn arg_forms() {
    assert_eq!(
        dumps("ARG a\nARG b=1 c d=\"x y\" e=\nARG --ignored f=g\n"),
        [
            r#"(arg "a")"#,
            r#"(arg "b"="1" "c" "d"="\"x y\"" "e"="")"#,
            r#"(arg "f"="g")"#
        ]
    );
    assert_eq!(
        error_after_from("ARG"),
        (2, ErrorKind::AtLeastOneArgument("ARG"))
    );
    assert_eq!(
        error_after_from("ARG a =b"),
        (2, ErrorKind::BlankName("ARG"))
    );
}

// ---------------------------------------------------------------- EXPOSE, VOLUME, USER, ...

#[test]
fn expose_words_are_sorted_like_docker() {
    assert_eq!(
        dumps("EXPOSE 9000 5000/udp  6000-6002\n"),
        [r#"(expose "5000/udp" "6000-6002" "9000")"#]
    );
    assert_eq!(
        error_after_from("EXPOSE"),
        (2, ErrorKind::AtLeastOneArgument("EXPOSE"))
    );
}

#[test]
fn volume_forms() {
    assert_eq!(
        dumps("VOLUME [\"/test\"]\nVOLUME [\"/a\", \"/b c\"]\nVOLUME /x  /y\nVOLUME $DATA\n"),
        [
            r#"(volume "/test")"#,
            r#"(volume "/a" "/b c")"#,
            r#"(volume "/x" "/y")"#,
            r#"(volume "$DATA")"#
        ]
    );
    assert_eq!(
        error_after_from("VOLUME"),
        (2, ErrorKind::AtLeastOneArgument("VOLUME"))
    );
    assert_eq!(
        error_after_from("VOLUME []"),
        (2, ErrorKind::AtLeastOneArgument("VOLUME"))
    );
    assert_eq!(
        error_after_from("VOLUME [\"/a\", \" \"]"),
        (2, ErrorKind::EmptyVolume)
    );
}

#[test]
fn single_argument_instructions_take_the_whole_rest() {
    assert_eq!(
        dumps("WORKDIR /my dir\nUSER docker:root\nUSER $UID\nSTOPSIGNAL SIGRTMIN+3\nMAINTAINER Jane Doe <jane@example.com>\n"),
        [
            r#"(workdir "/my dir")"#,
            r#"(user "docker:root")"#,
            r#"(user "$UID")"#,
            r#"(stopsignal "SIGRTMIN+3")"#,
            r#"(maintainer "Jane Doe <jane@example.com>")"#,
        ]
    );
    for name in ["WORKDIR", "USER", "STOPSIGNAL", "MAINTAINER"] {
        let keyword: &'static str = match name {
            "WORKDIR" => "WORKDIR",
            "USER" => "USER",
            "STOPSIGNAL" => "STOPSIGNAL",
            _ => "MAINTAINER",
        };
        assert_eq!(
            error_after_from(name),
            (2, ErrorKind::ExactlyOneArgument(keyword))
        );
    }
    // Docker never looks at STOPSIGNAL's flags, but checks USER's.
    assert_eq!(dumps("STOPSIGNAL --whatever 9"), [r#"(stopsignal "9")"#]);
    assert_eq!(
        error_after_from("USER --x=1 me"),
        (
            2,
            ErrorKind::UnknownFlag {
                instruction: "USER",
                flag: "x".into()
            }
        )
    );
}

#[test]
fn shell_requires_json() {
    assert_eq!(
        dumps("SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]"),
        [r#"(shell "/bin/bash" "-o" "pipefail" "-c")"#]
    );
    assert_eq!(
        error_after_from("SHELL /bin/bash -c"),
        (2, ErrorKind::JsonRequired("SHELL"))
    );
    assert_eq!(
        error_after_from("SHELL"),
        (2, ErrorKind::AtLeastOneArgument("SHELL"))
    );
    assert_eq!(
        error_after_from("SHELL []"),
        (2, ErrorKind::AtLeastOneArgument("SHELL"))
    );
}

#[test]
fn entrypoint_empty_json_resets() {
    assert_eq!(dumps("ENTRYPOINT []"), ["(entrypoint exec)"]);
}

// ---------------------------------------------------------------- COPY and ADD

#[test]
fn copy_forms_and_flags() {
    assert_eq!(
        dumps(concat!(
            "COPY . /app\n",
            "COPY --from=build --chown=app:app --chmod=0644 /out/a /out/b* /dst/\n",
            "COPY --link --parents --exclude=*.md --exclude=tmp ./src ./\n",
            "COPY --link=false a b\n",
            "COPY [\"with space\", \"/dest dir/\"]\n",
            "COPY --chown=\"a b\" -- --weird /x\n",
            "COPY \"a b\" /c\n",
        )),
        [
            r#"(copy "." "/app")"#,
            r#"(copy from="build" chown="app:app" chmod="0644" "/out/a" "/out/b*" "/dst/")"#,
            r#"(copy link parents exclude="*.md" exclude="tmp" "./src" "./")"#,
            r#"(copy "a" "b")"#,
            r#"(copy json "with space" "/dest dir/")"#,
            r#"(copy chown="a b" "--weird" "/x")"#,
            // shell form splits on whitespace only: quotes are left to expansion
            r#"(copy "\"a" "b\"" "/c")"#,
        ]
    );
}

#[test]
fn copy_errors() {
    assert_eq!(
        error_after_from("COPY onlyone"),
        (2, ErrorKind::NoDestination("COPY"))
    );
    assert_eq!(
        error_after_from("COPY [\"a\"]"),
        (2, ErrorKind::NoDestination("COPY"))
    );
    assert_eq!(
        error_after_from("COPY --user=me a b"),
        (
            2,
            ErrorKind::UnknownFlag {
                instruction: "COPY",
                flag: "user".into()
            }
        )
    );
    assert_eq!(
        error_after_from("COPY --from=a --from=b x y"),
        (
            2,
            ErrorKind::DuplicateFlag {
                instruction: "COPY",
                flag: "from".into()
            }
        )
    );
    assert_eq!(
        error_after_from("COPY --from a b"),
        (
            2,
            ErrorKind::FlagMissingValue {
                instruction: "COPY",
                flag: "from".into()
            }
        )
    );
    assert_eq!(
        error_after_from("COPY --link= a b"),
        (
            2,
            ErrorKind::FlagMissingValue {
                instruction: "COPY",
                flag: "link".into()
            }
        )
    );
    assert_eq!(
        error_after_from("COPY --link=maybe a b"),
        (
            2,
            ErrorKind::FlagNotBoolean {
                instruction: "COPY",
                flag: "link".into(),
                value: "maybe".into()
            }
        )
    );
    assert_eq!(
        error_after_from("COPY --checksum=sha256:0 a b"),
        (
            2,
            ErrorKind::UnknownFlag {
                instruction: "COPY",
                flag: "checksum".into()
            }
        )
    );
}

#[test]
fn add_forms_and_flags() {
    assert_eq!(
        dumps(concat!(
            "ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/a.tar.gz /\n",
            "ADD --keep-git-dir=true --link https://github.com/moby/buildkit.git#v0.10.1 /src\n",
            "ADD --unpack=false --chown=1:2 --chmod=600 a.tar /x/\n",
            "ADD [\"a b\", \"/c\"]\n",
        )),
        [
            r#"(add checksum="sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d" "https://example.com/a.tar.gz" "/")"#,
            r#"(add link keep-git-dir "https://github.com/moby/buildkit.git#v0.10.1" "/src")"#,
            r#"(add chown="1:2" chmod="600" unpack=false "a.tar" "/x/")"#,
            r#"(add json "a b" "/c")"#,
        ]
    );
    assert_eq!(
        error_after_from("ADD x"),
        (2, ErrorKind::NoDestination("ADD"))
    );
    assert_eq!(
        error_after_from("ADD --from=x a b"),
        (
            2,
            ErrorKind::UnknownFlag {
                instruction: "ADD",
                flag: "from".into()
            }
        )
    );
}

// ---------------------------------------------------------------- HEALTHCHECK

#[test]
fn healthcheck_forms() {
    let InstructionKind::Healthcheck(h) = one("HEALTHCHECK NONE") else {
        panic!()
    };
    assert_eq!(h.test, ["NONE"]);
    let InstructionKind::Healthcheck(h) = one(
        "HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=1.5h --start-interval=2s --retries=3 \\\n  CMD curl -f http://localhost/ || exit 1",
    ) else {
        panic!()
    };
    assert_eq!(h.test, ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]);
    assert_eq!(h.interval, Duration::from_secs(90));
    assert_eq!(h.timeout, Duration::from_millis(500));
    assert_eq!(h.start_period, Duration::from_secs(5400));
    assert_eq!(h.start_interval, Duration::from_secs(2));
    assert_eq!(h.retries, 3);
    let InstructionKind::Healthcheck(h) = one("healthcheck cmd [\"/bin/check\", \"--quick\"]")
    else {
        panic!()
    };
    assert_eq!(h.test, ["CMD", "/bin/check", "--quick"]);
    assert_eq!((h.interval, h.retries), (Duration::ZERO, 0));
    // Zero durations mean "unset" (current BuildKit; docker 20.10 rejected 0s).
    let InstructionKind::Healthcheck(h) = one("HEALTHCHECK --interval=0s --retries=0 CMD true")
    else {
        panic!()
    };
    assert_eq!((h.interval, h.retries), (Duration::ZERO, 0));
    // Docker ignores the options of HEALTHCHECK NONE.
    let InstructionKind::Healthcheck(h) = one("HEALTHCHECK --bogus=1 NONE") else {
        panic!()
    };
    assert_eq!(h.test, ["NONE"]);
}

#[test]
fn healthcheck_errors() {
    assert_eq!(
        error_after_from("HEALTHCHECK"),
        (2, ErrorKind::AtLeastOneArgument("HEALTHCHECK"))
    );
    assert_eq!(
        error_after_from("HEALTHCHECK NONE x"),
        (2, ErrorKind::HealthcheckNoneArguments)
    );
    assert_eq!(
        error_after_from("HEALTHCHECK CMD"),
        (2, ErrorKind::HealthcheckMissingCommand)
    );
    assert_eq!(
        error_after_from("HEALTHCHECK CMD []"),
        (2, ErrorKind::HealthcheckMissingCommand)
    );
    assert_eq!(
        error_after_from("HEALTHCHECK RUN x"),
        (2, ErrorKind::HealthcheckType("RUN".into()))
    );
    assert_eq!(
        error_after_from("HEALTHCHECK --interval=5 CMD x"),
        (
            2,
            ErrorKind::InvalidDuration {
                flag: "interval",
                value: "5".into()
            }
        )
    );
    assert_eq!(
        error_after_from("HEALTHCHECK --timeout=100us CMD x"),
        (2, ErrorKind::DurationTooShort("timeout"))
    );
    assert_eq!(
        error_after_from("HEALTHCHECK --interval=-1s CMD x"),
        (2, ErrorKind::DurationTooShort("interval"))
    );
    assert_eq!(
        error_after_from("HEALTHCHECK --retries=-1 CMD x"),
        (2, ErrorKind::NegativeRetries(-1))
    );
    assert_eq!(
        error_after_from("HEALTHCHECK --retries=three CMD x"),
        (2, ErrorKind::InvalidRetries("three".into()))
    );
    assert_eq!(
        error_after_from("HEALTHCHECK --retry=3 CMD x"),
        (
            2,
            ErrorKind::UnknownFlag {
                instruction: "HEALTHCHECK",
                flag: "retry".into()
            }
        )
    );
}

#[test]
fn go_durations() {
    for (text, expected) in [
        ("1h", Duration::from_secs(3600)),
        ("2h45m", Duration::from_secs(9900)),
        ("1.5s", Duration::from_millis(1500)),
        (".5s", Duration::from_millis(500)),
        ("1.s", Duration::from_secs(1)),
        ("1s500ms", Duration::from_millis(1500)),
        ("1500us", Duration::from_micros(1500)),
        ("1500µs", Duration::from_micros(1500)),
        ("1000000ns", Duration::from_millis(1)),
        ("+3m", Duration::from_secs(180)),
    ] {
        let InstructionKind::Healthcheck(h) = one(&format!("HEALTHCHECK --interval={text} CMD x"))
        else {
            panic!()
        };
        assert_eq!(h.interval, expected, "{text}");
    }
    for bad in ["1", "s", "1.s5", "1d", ".s", "--1s", "1e3s", "0x10s"] {
        let (_, kind) = error_after_from(&format!("HEALTHCHECK --interval={bad} CMD x"));
        assert_eq!(
            kind,
            ErrorKind::InvalidDuration {
                flag: "interval",
                value: bad.into()
            },
            "{bad}"
        );
    }
}

// ---------------------------------------------------------------- ONBUILD

#[test]
fn onbuild_triggers() {
    let got = after_from("ONBUILD RUN [\"echo\", \"test\"]\nONBUILD RUN echo test\nonbuild  copy . /\nONBUILD ENV a=b\n");
    assert_eq!(
        got.iter().map(dump).collect::<Vec<_>>(),
        [
            r#"(onbuild (run exec "echo" "test"))"#,
            r#"(onbuild (run shell "echo test"))"#,
            r#"(onbuild (copy "." "/"))"#,
            r#"(onbuild (env "a" "b"))"#,
        ]
    );
    let expressions: Vec<_> = got
        .iter()
        .map(|k| {
            if let InstructionKind::Onbuild(o) = k {
                o.expression.clone()
            } else {
                panic!()
            }
        })
        .collect();
    assert_eq!(
        expressions,
        [
            "RUN [\"echo\", \"test\"]",
            "RUN echo test",
            "copy . /",
            "ENV a=b"
        ]
    );
}

#[test]
fn onbuild_errors() {
    assert_eq!(
        error_after_from("ONBUILD"),
        (2, ErrorKind::AtLeastOneArgument("ONBUILD"))
    );
    assert_eq!(
        error_after_from("ONBUILD ONBUILD RUN x"),
        (2, ErrorKind::OnbuildChain)
    );
    assert_eq!(
        error_after_from("ONBUILD from x"),
        (2, ErrorKind::OnbuildTrigger("FROM".into()))
    );
    assert_eq!(
        error_after_from("ONBUILD MAINTAINER me"),
        (2, ErrorKind::OnbuildTrigger("MAINTAINER".into()))
    );
    // Errors of the trigger's line syntax are found now ...
    assert_eq!(
        error_after_from("ONBUILD ENV a=b c"),
        (
            2,
            ErrorKind::MissingEquals {
                instruction: "ENV",
                word: "c".into()
            }
        )
    );
    assert_eq!(
        error_after_from("ONBUILD CMD [\"a\", 1]"),
        (2, ErrorKind::JsonNotStrings("CMD"))
    );
    // ... other problems only when the trigger fires, as docker 20.10 does.
    assert_eq!(
        dumps("ONBUILD COPY a\nONBUILD FOO bar\nONBUILD COPY --bogus a b"),
        [
            r#"(onbuild unchecked "COPY a")"#,
            r#"(onbuild unchecked "FOO bar")"#,
            r#"(onbuild unchecked "COPY --bogus a b")"#
        ]
    );
}

// ---------------------------------------------------------------- a whole file

#[test]
fn multi_stage_file() {
    let df = parse_ok(concat!(
        "# syntax=docker/dockerfile:1\n",
        "ARG GO=1.22\n",
        "FROM golang:${GO} AS build\n",
        "WORKDIR /src\n",
        "COPY go.* ./\n",
        "RUN --mount=type=cache,target=/go/pkg/mod go mod download\n",
        "COPY . .\n",
        "RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app\n",
        "\n",
        "FROM scratch\n",
        "COPY --from=build /out/app /app\n",
        "USER 65534:65534\n",
        "EXPOSE 8080/tcp\n",
        "ENTRYPOINT [\"/app\"]\n",
    ));
    assert_eq!(df.meta_args.len(), 1);
    assert_eq!(
        df.stages
            .iter()
            .map(|s| s.instructions.len())
            .collect::<Vec<_>>(),
        [5, 4]
    );
    assert_eq!(df.stages[1].start_line, 10);
    assert_eq!(
        df.stages[0].instructions[2].source,
        "RUN --mount=type=cache,target=/go/pkg/mod go mod download"
    );
    let keywords: Vec<_> = df.stages[1]
        .instructions
        .iter()
        .map(|i| i.kind.keyword())
        .collect();
    assert_eq!(keywords, ["COPY", "USER", "EXPOSE", "ENTRYPOINT"]);
}

#[test]
fn stage_lookup() {
    let df = parse_ok("FROM a AS Build\nFROM b\nFROM c AS final\n");
    assert_eq!(df.stage_index("build"), Some(0));
    assert_eq!(df.stage_index("BUILD"), Some(0));
    assert_eq!(df.stage_index("final"), Some(2));
    assert_eq!(df.stage_index("1"), Some(1));
    assert_eq!(df.stage_index("3"), None);
    assert_eq!(df.stage_index("alpine:3"), None);
}

#[test]
fn onbuild_triggers_of_a_base_image() {
    // What a base image built from "ONBUILD ..." lines stores, fed back to the parser.
    let base = parse_ok(
        "FROM x\nONBUILD RUN echo one\nONBUILD COPY <<EOF /f\nbody\nEOF\nONBUILD   env a=b\n",
    );
    let stored: Vec<String> = base.stages[0]
        .instructions
        .iter()
        .map(|i| match &i.kind {
            InstructionKind::Onbuild(o) => o.expression.clone(),
            _ => unreachable!(),
        })
        .collect();
    let triggers = dockerfile::parse_triggers(&stored).unwrap();
    assert_eq!(
        triggers.iter().map(|t| dump(&t.kind)).collect::<Vec<_>>(),
        [
            r#"(run shell "echo one")"#,
            r#"(copy (heredoc "EOF" "body\n" expand=true) "/f")"#,
            r#"(env "a" "b")"#,
        ]
    );
    assert!(dockerfile::parse_triggers::<&str>(&[]).unwrap().is_empty());
    assert_eq!(
        dockerfile::parse_triggers(&["FROM x"]).unwrap_err().kind,
        ErrorKind::OnbuildTrigger("FROM".into())
    );
    assert_eq!(
        dockerfile::parse_triggers(&["RUN a", "ONBUILD RUN b"])
            .unwrap_err()
            .kind,
        ErrorKind::OnbuildChain
    );
    assert_eq!(
        dockerfile::parse_triggers(&["FOO bar"]).unwrap_err().kind,
        ErrorKind::UnknownInstruction("FOO".into())
    );
}
