//! Binary (and too-large) files keep their bytes in `file_blobs`, with the size on the file
//! for the tree; a project may be bound to a directory on the server's disk.

use sea_orm::{
    DbBackend, Statement,
    sea_query::{ColumnDef, Table},
};

use super::{fk, idents::*};

pub(super) fn steps(backend: DbBackend) -> Vec<Statement> {
    vec![
        backend.build(
            Table::alter()
                .table(Files::Table)
                .add_column(ColumnDef::new(Files::Size).big_integer().null()),
        ),
        backend.build(
            Table::alter()
                .table(Projects::Table)
                .add_column(ColumnDef::new(Projects::DiskRoot).text().null()),
        ),
        backend.build(
            &Table::create()
                .table(FileBlobs::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(FileBlobs::FileId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(FileBlobs::Data).blob().not_null())
                .foreign_key(&mut fk(
                    "fk_blobs_file",
                    (FileBlobs::Table, FileBlobs::FileId),
                    (Files::Table, Files::Id),
                ))
                .to_owned(),
        ),
    ]
}
