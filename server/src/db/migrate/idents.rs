//! The table and column names the migrations use. Kept apart from the entities, so a later
//! change to an entity never rewrites what an old migration did.

use sea_orm::DeriveIden;

#[derive(DeriveIden)]
pub(super) enum ChatMessages {
    Table,
    Id,
    ProjectId,
    AuthorId,
    ClientId,
    Kind,
    Body,
    CreatedAt,
    EditedAt,
    DeletedAt,
    ReplyTo,
    AiState,
    AiError,
    AiRequest,
    AiContext,
}

#[derive(DeriveIden)]
pub(super) enum FileBlobs {
    Table,
    FileId,
    Data,
}

#[derive(DeriveIden)]
pub(super) enum Files {
    Table,
    Id,
    ProjectId,
    ParentId,
    Name,
    Kind,
    DocumentId,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
    Size,
}

#[derive(DeriveIden)]
pub(super) enum Documents {
    Table,
    Id,
    ProjectId,
    Name,
    CreatedBy,
    CreatedAt,
    Snapshot,
    SnapshotSeq,
    LastSeq,
}

#[derive(DeriveIden)]
pub(super) enum DocumentUpdates {
    Table,
    DocumentId,
    Seq,
    Data,
    AuthorId,
    Via,
}

#[derive(DeriveIden)]
pub(super) enum DocumentTimes {
    Table,
    DocumentId,
    Seq,
    AtMs,
}

#[derive(DeriveIden)]
pub(super) enum DocumentAuthorship {
    Table,
    DocumentId,
    Client,
    ClockStart,
    ClockEnd,
    AuthorId,
    Via,
    AtMs,
}

#[derive(DeriveIden)]
pub(super) enum DocumentSnapshots {
    Table,
    DocumentId,
    Seq,
    Data,
}

#[derive(DeriveIden)]
pub(super) enum SchemaMigrations {
    Table,
    Version,
    Name,
    AppliedAt,
}

#[derive(DeriveIden)]
pub(super) enum Users {
    Table,
    Id,
    Name,
    NameKey,
    PasswordHash,
    CreatedAt,
    IsAdmin,
    Disabled,
}

#[derive(DeriveIden)]
pub(super) enum Projects {
    Table,
    Id,
    Name,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    DiskRoot,
}

#[derive(DeriveIden)]
pub(super) enum ProjectMembers {
    Table,
    ProjectId,
    UserId,
    Role,
    JoinedAt,
}

#[derive(DeriveIden)]
pub(super) enum Invites {
    Table,
    Id,
    ProjectId,
    Token,
    Role,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
pub(super) enum Sessions {
    Table,
    Id,
    Data,
    ExpiresAt,
    UserId,
}

#[derive(DeriveIden)]
pub(super) enum AccessChanges {
    Table,
    Id,
    Origin,
    Body,
    CreatedAt,
}

#[derive(DeriveIden)]
pub(super) enum Runs {
    Table,
    Id,
    ProjectId,
    Name,
    Command,
    StartedBy,
    StartedByName,
    StartedAt,
    EndedAt,
    ExitCode,
    Reason,
    Tail,
    Node,
    Environment,
}

#[derive(DeriveIden)]
pub(super) enum Terminals {
    Table,
    Id,
    ProjectId,
    Node,
    OpenedBy,
    OpenedByName,
    OpenedAt,
}

#[derive(DeriveIden)]
pub(super) enum RunSettings {
    Table,
    ProjectId,
    Network,
}

#[derive(DeriveIden)]
pub(super) enum RateCounts {
    Table,
    Key,
    Count,
    SinceMs,
    LastMs,
}

#[derive(DeriveIden)]
pub(super) enum Leases {
    Table,
    Name,
    Holder,
    UntilMs,
}

#[derive(DeriveIden)]
pub(super) enum DocumentVersions {
    Table,
    Id,
    DocumentId,
    Seq,
    StartedMs,
    AtMs,
    Authors,
    Vias,
    Name,
    NamedBy,
    BaseId,
    Depth,
    Data,
}

#[derive(DeriveIden)]
pub(super) enum PurgedFiles {
    Table,
    Id,
    ProjectId,
    DocumentId,
    Name,
    Path,
    PurgedAt,
    PurgedBy,
}

#[derive(DeriveIden)]
pub(super) enum AuditEntries {
    Table,
    Id,
    ProjectId,
    AtMs,
    ActorId,
    ActorName,
    Action,
    Target,
    Detail,
}

#[derive(DeriveIden)]
pub(super) enum DocumentSeen {
    Table,
    UserId,
    DocumentId,
    Seq,
}

#[derive(DeriveIden)]
pub(super) enum Suggestions {
    Table,
    Id,
    ProjectId,
    FileId,
    DocumentId,
    AuthorId,
    Action,
    Instruction,
    StartAnchor,
    EndAnchor,
    FirstLine,
    LastLine,
    Original,
    Replacement,
    State,
    Error,
    DecidedBy,
    CreatedAt,
    DecidedAt,
}

#[derive(DeriveIden)]
pub(super) enum AiUsage {
    Table,
    ProjectId,
    Day,
    Kind,
    Requests,
    Failures,
    PromptTokens,
    CompletionTokens,
    LatencyMs,
}

#[derive(DeriveIden)]
pub(super) enum ProjectAi {
    Table,
    ProjectId,
    Completions,
    Assistant,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub(super) enum Environments {
    Table,
    Id,
    ProjectId,
    Name,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
pub(super) enum EnvironmentVars {
    Table,
    Id,
    EnvironmentId,
    Name,
    Secret,
    Value,
    SetBy,
    SetAt,
}

#[derive(DeriveIden)]
pub(super) enum EditActivity {
    Table,
    Id,
    ProjectId,
    UserId,
    FileId,
    Updates,
    FirstAt,
    At,
}

#[derive(DeriveIden)]
pub(super) enum ChatMentions {
    Table,
    Id,
    UserId,
    ProjectId,
    MessageId,
    CreatedAt,
    ReadAt,
}

#[derive(DeriveIden)]
pub(super) enum OpsState {
    Table,
    Id,
    Body,
    Version,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub(super) enum OpsNodes {
    Table,
    Node,
    Body,
    ReportedMs,
}

#[derive(DeriveIden)]
pub(super) enum OpsAlerts {
    Table,
    Id,
    Kind,
    Node,
    Message,
    Value,
    Threshold,
    StartedMs,
    EndedMs,
}
