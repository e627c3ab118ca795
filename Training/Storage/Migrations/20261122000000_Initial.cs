using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace RnnService.Training.Storage.Migrations;

/// <summary>
/// The first schema. Written by hand (the EF design-time package is not in the registry these machines reach) and
/// provider-neutral: column types come from each provider's mapping of the CLR types. A test checks that the
/// migrated schema equals the one the model would create.
/// </summary>
[DbContext(typeof(RnnDbContext))]
[Migration("20261122000000_Initial")]
public sealed class Initial : Migration
{
    protected override void Up(MigrationBuilder migration)
    {
        migration.CreateTable(
            name: "datasets",
            columns: table => new
            {
                Id = table.Column<string>(nullable: false),
                Name = table.Column<string>(nullable: false),
                Format = table.Column<string>(nullable: false),
                Kind = table.Column<string>(nullable: false),
                FileName = table.Column<string>(nullable: false),
                SizeBytes = table.Column<long>(nullable: false),
                Summary = table.Column<string>(nullable: false),
                CreatedAt = table.Column<DateTime>(nullable: false),
            },
            constraints: table => table.PrimaryKey("PK_datasets", x => x.Id));
        migration.CreateIndex(name: "IX_datasets_CreatedAt", table: "datasets", column: "CreatedAt");

        migration.CreateTable(
            name: "training_jobs",
            columns: table => new
            {
                Id = table.Column<string>(nullable: false),
                State = table.Column<string>(nullable: false),
                DatasetId = table.Column<string>(nullable: false),
                ModelName = table.Column<string>(nullable: false),
                Request = table.Column<string>(nullable: false),
                CreatedAt = table.Column<DateTime>(nullable: false),
                StartedAt = table.Column<DateTime>(nullable: true),
                FinishedAt = table.Column<DateTime>(nullable: true),
                UpdatedAt = table.Column<DateTime>(nullable: false),
                Progress = table.Column<string>(nullable: true),
                History = table.Column<string>(nullable: false),
                Metrics = table.Column<string>(nullable: true),
                Error = table.Column<string>(nullable: true),
                ModelVersion = table.Column<int>(nullable: true),
                Device = table.Column<string>(nullable: true),
                Attempts = table.Column<int>(nullable: false),
                LeaseOwner = table.Column<string>(nullable: true),
                LeaseExpiresAt = table.Column<DateTime>(nullable: true),
                CancelRequested = table.Column<bool>(nullable: false),
            },
            constraints: table => table.PrimaryKey("PK_training_jobs", x => x.Id));
        migration.CreateIndex(name: "IX_training_jobs_State_CreatedAt", table: "training_jobs", columns: ["State", "CreatedAt"]);
        migration.CreateIndex(name: "IX_training_jobs_DatasetId", table: "training_jobs", column: "DatasetId");

        migration.CreateTable(
            name: "model_versions",
            columns: table => new
            {
                Id = table.Column<string>(nullable: false),
                Name = table.Column<string>(nullable: false),
                Version = table.Column<int>(nullable: false),
                Spec = table.Column<string>(nullable: false),
                Task = table.Column<string>(nullable: false),
                Preprocessing = table.Column<string>(nullable: false),
                Metrics = table.Column<string>(nullable: true),
                ParameterCount = table.Column<long>(nullable: false),
                SourceJobId = table.Column<string>(nullable: true),
                WeightsFile = table.Column<string>(nullable: false),
                Device = table.Column<string>(nullable: true),
                CreatedAt = table.Column<DateTime>(nullable: false),
            },
            constraints: table => table.PrimaryKey("PK_model_versions", x => x.Id));
        migration.CreateIndex(name: "IX_model_versions_Name_Version", table: "model_versions", columns: ["Name", "Version"], unique: true);
        migration.CreateIndex(name: "IX_model_versions_SourceJobId", table: "model_versions", column: "SourceJobId", unique: true);
    }

    protected override void Down(MigrationBuilder migration)
    {
        migration.DropTable(name: "model_versions");
        migration.DropTable(name: "training_jobs");
        migration.DropTable(name: "datasets");
    }
}
