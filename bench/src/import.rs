//! The memory one zip import holds at worst: N files of M MiB of zeros (deflate shrinks each
//! about a thousandfold, so the upload is small and the server does the inflating) posted to
//! "Import from zip" as a browser's form would. Reports the answer, the time it took, the
//! server's RSS before and its peak (`VmHWM`), and what is left in its scratch folder.

use std::{io::Write, time::Instant};

use crate::{
    server::Server,
    tab::{self, Error},
};

fn zeros_zip(files: usize, mib: usize) -> Result<Vec<u8>, Error> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let chunk = vec![0u8; 1 << 20];
    for i in 0..files {
        zip.start_file(format!("zeros/{i}.bin"), options)?;
        for _ in 0..mib {
            zip.write_all(&chunk)?;
        }
    }
    Ok(zip.finish()?.into_inner())
}

/// The "Import from zip" form with project name `name`.
pub(crate) fn multipart(boundary: &str, name: &str, zip: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n{name}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload.zip\"\r\n\
         Content-Type: application/zip\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(zip);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

pub(crate) async fn zeros(server: &Server, files: usize, mib: usize) -> Result<(), Error> {
    let zip = tokio::task::spawn_blocking(move || zeros_zip(files, mib)).await??;
    let (cookie, _) = crate::chat::sign_up(server.port(), "importer").await?;
    let boundary = "tandem-bench-boundary";
    let body = multipart(boundary, "Zeros", &zip);
    let rss0 = server.rss_kb();
    let t0 = Instant::now();
    let (status, _, answer) = tab::post_bytes(
        server.port(),
        "/api/projects/import",
        &format!("multipart/form-data; boundary={boundary}"),
        &body,
        Some(&cookie),
    )
    .await?;
    let secs = t0.elapsed().as_secs_f64();
    let refusal = answer
        .split("data-test=\"import-error\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or("");
    let left = std::fs::read_dir(server.data_dir().join("tmp")).map_or(0, |d| d.count());
    println!(
        "zip of {files} × {mib} MiB of zeros ({} kB): HTTP {status} {refusal} in {secs:.1} s; \
         server RSS before {} MB, peak {} MB; scratch entries left: {left}",
        zip.len() / 1024,
        rss0 / 1024,
        server.peak_rss_kb() / 1024,
    );
    Ok(())
}
