-- AlterTable
ALTER TABLE "Avatar" ADD COLUMN     "photoConsentAt" TIMESTAMP(3),
ADD COLUMN     "photoConsentText" TEXT;
