//! Readers for expanded values: EXPOSE ports, USER, RUN --mount.

use skiff_build::dockerfile::{
    parse_mount, parse_ports, split_user, MountType, PortProtocol, PortSpec, ValueError,
};

fn ports(words: &[&str]) -> Vec<String> {
    parse_ports(words)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn exposed_ports() {
    assert_eq!(ports(&["80"]), ["80/tcp"]);
    assert_eq!(
        ports(&["53/udp", "53/UDP", "9/sctp", "22/"]),
        ["53/udp", "53/udp", "9/sctp", "22/tcp"]
    );
    assert_eq!(
        ports(&["8000-8002/tcp"]),
        ["8000/tcp", "8001/tcp", "8002/tcp"]
    );
    assert_eq!(
        ports(&["127.0.0.1:8080:80", "9090:90/udp"]),
        ["80/tcp", "90/udp"]
    );
    assert_eq!(ports(&["0", "65535"]), ["0/tcp", "65535/tcp"]);
    assert_eq!(
        parse_ports(&["80"]).unwrap(),
        [PortSpec {
            port: 80,
            protocol: PortProtocol::Tcp
        }]
    );
}

#[test]
fn exposed_port_errors() {
    assert_eq!(
        parse_ports(&["80/xyz"]),
        Err(ValueError::InvalidProtocol("xyz".into()))
    );
    assert_eq!(
        parse_ports(&["70000"]),
        Err(ValueError::InvalidPort("70000".into()))
    );
    assert_eq!(
        parse_ports(&["90-80"]),
        Err(ValueError::InvalidPort("90-80".into()))
    );
    assert_eq!(
        parse_ports(&["http"]),
        Err(ValueError::InvalidPort("http".into()))
    );
    assert_eq!(
        parse_ports(&["/tcp"]),
        Err(ValueError::NoPort("/tcp".into()))
    );
    assert_eq!(parse_ports(&[""]), Err(ValueError::NoPort("".into())));
}

#[test]
fn users() {
    assert_eq!(split_user("app"), ("app", None));
    assert_eq!(split_user("app:staff"), ("app", Some("staff")));
    assert_eq!(split_user("1000:1000"), ("1000", Some("1000")));
    assert_eq!(split_user(":g"), ("", Some("g")));
}

#[test]
fn mounts() {
    let m = parse_mount("type=cache,target=/root/.cache,sharing=LOCKED,id=pip,mode=0755,uid=1000")
        .unwrap();
    assert_eq!(m.kind, MountType::Cache);
    assert_eq!(m.target.as_deref(), Some("/root/.cache"));
    assert_eq!(m.sharing.as_deref(), Some("locked"));
    assert_eq!(
        (m.id.as_deref(), m.mode, m.uid, m.gid),
        (Some("pip"), Some(0o755), Some(1000), None)
    );
    assert!(!m.read_only, "cache mounts are writable by default");

    let m = parse_mount("target=/src,from=build,source=/out").unwrap();
    assert_eq!(m.kind, MountType::Bind);
    assert!(m.read_only, "bind mounts are read-only by default");
    assert_eq!(
        (m.from.as_deref(), m.source.as_deref()),
        (Some("build"), Some("/out"))
    );
    assert!(!parse_mount("type=bind,target=/x,rw").unwrap().read_only);
    assert!(
        !parse_mount("type=bind,target=/x,readonly=false")
            .unwrap()
            .read_only
    );
    assert!(parse_mount("type=tmpfs,target=/t,ro").unwrap().read_only);

    let m = parse_mount("type=secret,id=token,required,dst=/run/secrets/t").unwrap();
    assert_eq!(
        (m.kind, m.required, m.target.as_deref()),
        (MountType::Secret, true, Some("/run/secrets/t"))
    );
    assert_eq!(parse_mount("type=ssh").unwrap().kind, MountType::Ssh);
    assert_eq!(
        parse_mount("\"type=bind\",\"target=/a,b\"")
            .unwrap()
            .target
            .as_deref(),
        Some("/a,b")
    );
}

#[test]
fn mount_errors() {
    assert_eq!(
        parse_mount("type=nfs"),
        Err(ValueError::MountType("nfs".into()))
    );
    assert_eq!(
        parse_mount("target"),
        Err(ValueError::MountField("target".into()))
    );
    assert_eq!(
        parse_mount("type=bind,bogus=1"),
        Err(ValueError::MountKey {
            key: "bogus".into(),
            field: "bogus=1".into()
        })
    );
    assert_eq!(
        parse_mount("type=bind,required"),
        Err(ValueError::MountKeyForType {
            key: "required".into(),
            kind: "bind"
        })
    );
    assert_eq!(
        parse_mount("type=cache,sharing=maybe"),
        Err(ValueError::MountSharing("maybe".into()))
    );
    assert_eq!(
        parse_mount("type=cache,mode=999"),
        Err(ValueError::MountValue {
            key: "mode".into(),
            value: "999".into()
        })
    );
    assert!(matches!(
        parse_mount("type=bind,uid=0"),
        Err(ValueError::MountRule(_))
    ));
    assert!(matches!(
        parse_mount("type=bind,sharing=shared"),
        Err(ValueError::MountRule(_))
    ));
    assert!(matches!(
        parse_mount("type=secret"),
        Err(ValueError::MountRule(_))
    ));
    assert!(matches!(
        parse_mount("type=secret,id=a,from=b"),
        Err(ValueError::MountRule(_))
    ));
    assert!(matches!(
        parse_mount("\"type=bind"),
        Err(ValueError::MountCsv(_))
    ));
}
