-- AlterTable
ALTER TABLE "Job" ADD COLUMN "artifacts" TEXT NOT NULL DEFAULT '{}';
ALTER TABLE "Job" ADD COLUMN "etaSeconds" REAL;
ALTER TABLE "Job" ADD COLUMN "input" TEXT NOT NULL DEFAULT '{}';
ALTER TABLE "Job" ADD COLUMN "queuedAt" DATETIME;
ALTER TABLE "Job" ADD COLUMN "stages" TEXT NOT NULL DEFAULT '[]';

-- CreateIndex
CREATE INDEX "Job_status_idx" ON "Job"("status");
