using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace RnnService.Training.Storage.Migrations;

/// <summary>
/// For clients that automate: idempotency keys (per client, with the first answer, kept a day), model aliases, and a
/// kind on queued jobs (training or prediction).
/// </summary>
[DbContext(typeof(RnnDbContext))]
[Migration("20261203000000_Automation")]
public sealed class Automation : Migration
{
    protected override void Up(MigrationBuilder migration)
    {
        migration.CreateTable(
            name: "idempotency_keys",
            columns: table => new
            {
                ClientId = table.Column<string>(nullable: false),
                Key = table.Column<string>(nullable: false),
                Fingerprint = table.Column<string>(nullable: false),
                Status = table.Column<int>(nullable: true),
                ContentType = table.Column<string>(nullable: true),
                Location = table.Column<string>(nullable: true),
                Body = table.Column<string>(nullable: true),
                CreatedAt = table.Column<DateTime>(nullable: false),
                CompletedAt = table.Column<DateTime>(nullable: true),
            },
            constraints: table => table.PrimaryKey("PK_idempotency_keys", x => new { x.ClientId, x.Key }));
        migration.CreateIndex(name: "IX_idempotency_keys_CreatedAt", table: "idempotency_keys", column: "CreatedAt");

        migration.CreateTable(
            name: "model_aliases",
            columns: table => new
            {
                Name = table.Column<string>(nullable: false),
                Alias = table.Column<string>(nullable: false),
                Version = table.Column<int>(nullable: false),
                UpdatedAt = table.Column<DateTime>(nullable: false),
            },
            constraints: table => table.PrimaryKey("PK_model_aliases", x => new { x.Name, x.Alias }));

        // Prediction jobs share the queue with training jobs; every job before them trained.
        migration.AddColumn<string>(name: "Kind", table: "training_jobs", nullable: false, defaultValue: "Training");
    }

    protected override void Down(MigrationBuilder migration)
    {
        migration.DropColumn(name: "Kind", table: "training_jobs");
        migration.DropTable(name: "model_aliases");
        migration.DropTable(name: "idempotency_keys");
    }
}
