import type { Metadata } from "next";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = {
  title: "PERSE Studio",
  description: "One portrait to an editable, animatable 3D Gaussian-splat head avatar, edited together in real time.",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header className="topbar">
          <a href="/" className="brand">
            PERSE Studio
          </a>
        </header>
        {children}
      </body>
    </html>
  );
}
