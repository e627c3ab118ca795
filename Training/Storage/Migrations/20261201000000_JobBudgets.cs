using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace RnnService.Training.Storage.Migrations;

/// <summary>
/// What jobs need for their budgets: who submitted each (per-client limits), its estimate, why it stopped, and how many
/// times in a row its worker died under it. Jobs stored before this count as one client ('') with no crashes.
/// </summary>
[DbContext(typeof(RnnDbContext))]
[Migration("20261201000000_JobBudgets")]
public sealed class JobBudgets : Migration
{
    protected override void Up(MigrationBuilder migration)
    {
        migration.AddColumn<string>(name: "ClientId", table: "training_jobs", nullable: false, defaultValue: "");
        migration.AddColumn<string>(name: "Estimate", table: "training_jobs", nullable: true);
        migration.AddColumn<string>(name: "StoppedBy", table: "training_jobs", nullable: true);
        migration.AddColumn<int>(name: "Crashes", table: "training_jobs", nullable: false, defaultValue: 0);
        migration.CreateIndex(name: "IX_training_jobs_ClientId_State", table: "training_jobs", columns: ["ClientId", "State"]);
    }

    protected override void Down(MigrationBuilder migration)
    {
        migration.DropIndex(name: "IX_training_jobs_ClientId_State", table: "training_jobs");
        migration.DropColumn(name: "Crashes", table: "training_jobs");
        migration.DropColumn(name: "StoppedBy", table: "training_jobs");
        migration.DropColumn(name: "Estimate", table: "training_jobs");
        migration.DropColumn(name: "ClientId", table: "training_jobs");
    }
}
