-- AlterTable
ALTER TABLE "Avatar" ADD COLUMN "photoConsentAt" DATETIME;
ALTER TABLE "Avatar" ADD COLUMN "photoConsentText" TEXT;
