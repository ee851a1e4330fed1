//! A pseudo-terminal pair for a terminal's sandbox: the server keeps the master (non-blocking,
//! driven by tokio), the sandbox gets the slave as its stdin, stdout and stderr. No unsafe
//! code: rustix opens, grants, unlocks and sizes it, and tokio's pipe types drive the master
//! (a pty master reads and writes like the two ends of a pipe; they check nothing about the
//! file in their `unchecked` form).

use std::{
    fs::{File, OpenOptions},
    io,
    os::{
        fd::OwnedFd,
        unix::{ffi::OsStrExt, fs::OpenOptionsExt},
    },
};

use rustix::{
    pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt},
    termios::{Winsize, tcsetwinsize},
};
use tokio::net::unix::pipe;

/// The server's end of a terminal: one descriptor to read, one to write, one to size.
pub struct Master {
    reader: pipe::Receiver,
    writer: pipe::Sender,
    ctl: OwnedFd,
}

/// Opens a pty of `cols` × `rows`: the master, and the slave to hand to the child.
pub fn open(cols: u16, rows: u16) -> io::Result<(Master, File)> {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let name = ptsname(&master, Vec::new())?;
    let path = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(name.as_bytes()));
    // O_NOCTTY: the server must never make it its own controlling terminal.
    let slave = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(rustix::fs::OFlags::NOCTTY.bits() as i32)
        .open(path)?;
    resize_fd(&master, cols, rows)?;
    rustix::io::ioctl_fionbio(&master, true)?;
    let reader = pipe::Receiver::from_owned_fd_unchecked(master.try_clone()?)?;
    let writer = pipe::Sender::from_owned_fd_unchecked(master.try_clone()?)?;
    Ok((
        Master {
            reader,
            writer,
            ctl: master,
        },
        slave,
    ))
}

fn resize_fd(fd: &OwnedFd, cols: u16, rows: u16) -> io::Result<()> {
    tcsetwinsize(
        fd,
        Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        },
    )?;
    Ok(())
}

impl Master {
    /// Sets the size the shell sees (it gets SIGWINCH).
    pub fn resize(&self, cols: u16, rows: u16) -> io::Result<()> {
        resize_fd(&self.ctl, cols, rows)
    }

    /// Reads what the sandbox printed; `Ok(0)` once every process holding the slave is gone
    /// (Linux reports that as EIO on the master).
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            self.reader.readable().await?;
            match self.reader.try_read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.raw_os_error() == Some(rustix::io::Errno::IO.raw_os_error()) => {
                    return Ok(0);
                }
                r => return r,
            }
        }
    }

    /// Writes some of `data` (keystrokes for the shell), waiting until the pty takes some.
    pub async fn write(&self, data: &[u8]) -> io::Result<usize> {
        loop {
            self.writer.writable().await?;
            match self.writer.try_write(data) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                r => return r,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    #[tokio::test]
    async fn bytes_cross_the_pty_both_ways_and_the_size_is_set() {
        let (master, slave) = open(100, 30).expect("a pty");
        let size = rustix::termios::tcgetwinsize(&slave).expect("size");
        assert_eq!((size.ws_col, size.ws_row), (100, 30));
        master.resize(90, 20).expect("resize");
        let size = rustix::termios::tcgetwinsize(&slave).expect("size");
        assert_eq!((size.ws_col, size.ws_row), (90, 20));
        // The line discipline echoes what is typed and hands a whole line to the reader.
        assert_eq!(master.write(b"hi\n").await.expect("write"), 3);
        let mut reader = slave.try_clone().expect("clone");
        let mut line = [0u8; 3];
        reader.read_exact(&mut line).expect("line");
        assert_eq!(&line, b"hi\n");
        let mut echo = Vec::new();
        let mut buf = [0u8; 64];
        while !echo.ends_with(b"\r\n") {
            let n = master.read(&mut buf).await.expect("echo");
            echo.extend_from_slice(&buf[..n]);
        }
        assert_eq!(echo, b"hi\r\n");
        (&slave).write_all(b"out").expect("print");
        let n = master.read(&mut buf).await.expect("output");
        assert_eq!(&buf[..n], b"out");
        drop(reader);
        drop(slave);
        assert_eq!(master.read(&mut buf).await.expect("end"), 0);
    }
}
