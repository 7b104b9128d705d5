-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "artifacts" TEXT NOT NULL DEFAULT '{}',
ADD COLUMN     "etaSeconds" DOUBLE PRECISION,
ADD COLUMN     "input" TEXT NOT NULL DEFAULT '{}',
ADD COLUMN     "queuedAt" TIMESTAMP(3),
ADD COLUMN     "stages" TEXT NOT NULL DEFAULT '[]';

-- CreateIndex
CREATE INDEX "Job_status_idx" ON "Job"("status");
