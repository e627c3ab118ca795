using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace RnnService.Training.Storage.Migrations;

/// <summary>
/// Tuning jobs: their own table, and on training jobs the tuning job and trial number each trial belongs to (unique
/// together, so that two coordinators cannot create the same trial); a model version may come from a tuning job.
/// </summary>
[DbContext(typeof(RnnDbContext))]
[Migration("20261202000000_TuningJobs")]
public sealed class TuningJobs : Migration
{
    protected override void Up(MigrationBuilder migration)
    {
        migration.CreateTable(
            name: "tuning_jobs",
            columns: table => new
            {
                Id = table.Column<string>(nullable: false),
                State = table.Column<string>(nullable: false),
                DatasetId = table.Column<string>(nullable: false),
                ModelName = table.Column<string>(nullable: false),
                Request = table.Column<string>(nullable: false),
                ClientId = table.Column<string>(nullable: false),
                CreatedAt = table.Column<DateTime>(nullable: false),
                FinishedAt = table.Column<DateTime>(nullable: true),
                UpdatedAt = table.Column<DateTime>(nullable: false),
                CancelRequested = table.Column<bool>(nullable: false),
                BestJobId = table.Column<string>(nullable: true),
                ModelVersion = table.Column<int>(nullable: true),
                Error = table.Column<string>(nullable: true),
            },
            constraints: table => table.PrimaryKey("PK_tuning_jobs", x => x.Id));
        migration.CreateIndex(name: "IX_tuning_jobs_State_CreatedAt", table: "tuning_jobs", columns: ["State", "CreatedAt"]);

        migration.AddColumn<string>(name: "TuningJobId", table: "training_jobs", nullable: true);
        migration.AddColumn<int>(name: "TrialNumber", table: "training_jobs", nullable: true);
        migration.AddColumn<string>(name: "TrialParameters", table: "training_jobs", nullable: true);
        migration.CreateIndex(
            name: "IX_training_jobs_TuningJobId_TrialNumber", table: "training_jobs", columns: ["TuningJobId", "TrialNumber"], unique: true);

        migration.AddColumn<string>(name: "SourceTuningJobId", table: "model_versions", nullable: true);
        migration.CreateIndex(name: "IX_model_versions_SourceTuningJobId", table: "model_versions", column: "SourceTuningJobId", unique: true);
    }

    protected override void Down(MigrationBuilder migration)
    {
        migration.DropIndex(name: "IX_model_versions_SourceTuningJobId", table: "model_versions");
        migration.DropColumn(name: "SourceTuningJobId", table: "model_versions");
        migration.DropIndex(name: "IX_training_jobs_TuningJobId_TrialNumber", table: "training_jobs");
        migration.DropColumn(name: "TrialParameters", table: "training_jobs");
        migration.DropColumn(name: "TrialNumber", table: "training_jobs");
        migration.DropColumn(name: "TuningJobId", table: "training_jobs");
        migration.DropTable(name: "tuning_jobs");
    }
}
