//! Where the site's built files are: the script, the WebAssembly and the
//! stylesheet the pages link to.
//!
//! A release build names them by their content (`strangers.<hash>.wasm`), so
//! browsers may keep them for good, and writes the names to a hash file beside
//! the server binary; a development build uses plain names. Read once, at the
//! first page, rather than on every render.

use std::sync::OnceLock;

use leptos::prelude::LeptosOptions;

/// The built files' addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltFiles {
    /// The wasm-bindgen script that loads the WebAssembly.
    pub script: String,
    /// The WebAssembly.
    pub wasm: String,
    /// The stylesheet.
    pub stylesheet: String,
}

impl BuiltFiles {
    /// The files `options` describe, from the hash file `hashes` (its text) if
    /// the build named them by content.
    pub fn named(options: &LeptosOptions, hashes: Option<&str>) -> Self {
        let hash = |kind: &str| {
            hashes?.lines().find_map(|line| {
                let (file, hash) = line.split_once(':')?;
                (file.trim() == kind).then(|| format!(".{}", hash.trim()))
            })
        };
        let name = &options.output_name;
        let pkg = format!("/{}", options.site_pkg_dir);
        // Without hashes, wasm-bindgen's own name for the WebAssembly, unless
        // cargo-leptos set the name when the server was compiled.
        let plain_wasm = if option_env!("LEPTOS_OUTPUT_NAME").is_some() {
            ""
        } else {
            "_bg"
        };
        BuiltFiles {
            script: format!("{pkg}/{name}{}.js", hash("js").unwrap_or_default()),
            wasm: format!(
                "{pkg}/{name}{}.wasm",
                hash("wasm").unwrap_or_else(|| plain_wasm.to_owned())
            ),
            stylesheet: format!("{pkg}/{name}{}.css", hash("css").unwrap_or_default()),
        }
    }

    /// The files this server's site was built with (the first options asked
    /// about decide: every server in a process serves the same site).
    pub fn of(options: &LeptosOptions) -> &'static BuiltFiles {
        BUILT.get_or_init(|| {
            let hashes = options
                .hash_files
                .then(|| std::fs::read_to_string(hash_file(options)?).ok())
                .flatten();
            BuiltFiles::named(options, hashes.as_deref())
        })
    }

    /// The files, once a server has started.
    pub fn current() -> Option<&'static BuiltFiles> {
        BUILT.get()
    }
}

/// Read by the first server started, at its start.
static BUILT: OnceLock<BuiltFiles> = OnceLock::new();

/// Where cargo-leptos leaves the hash file: beside the server binary.
pub fn hash_file(options: &LeptosOptions) -> Option<std::path::PathBuf> {
    let binary = std::env::current_exe().ok()?;
    Some(binary.parent()?.join(&*options.hash_file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_build_links_the_names_its_hash_file_gives() {
        let options = LeptosOptions::builder().output_name("strangers").build();
        let hashes = "js: AAAAAAAAAAAAAAAAAAAAAA\nwasm: BBBBBBBBBBBBBBBBBBBBBB\ncss: CCCCCCCCCCCCCCCCCCCCCC\n";
        assert_eq!(
            BuiltFiles::named(&options, Some(hashes)),
            BuiltFiles {
                script: "/pkg/strangers.AAAAAAAAAAAAAAAAAAAAAA.js".into(),
                wasm: "/pkg/strangers.BBBBBBBBBBBBBBBBBBBBBB.wasm".into(),
                stylesheet: "/pkg/strangers.CCCCCCCCCCCCCCCCCCCCCC.css".into(),
            }
        );
        let plain = BuiltFiles::named(&options, None);
        assert_eq!(plain.script, "/pkg/strangers.js");
        assert_eq!(plain.stylesheet, "/pkg/strangers.css");
    }
}
